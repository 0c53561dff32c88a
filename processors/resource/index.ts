// resource: the attributes processor's actions applied to resource attributes (the
// Collector's resource processor, plus rename, convert, truncate, copy, a keyed hash
// and `where` conditions on resource attributes).
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { simpleProcessor } from '../../src/pipeline/simple-processor';
import type { Signal } from '../../src/otlp/schema';
import type { Resource } from '../../src/otlp/model';
import { signalTypes } from '../../src/otlp/schema';
import { actionsSchema } from '../attributes/actions';
import { applyActions, statsReporter, type Walker } from '../attributes/run';

const schema = s.object({
  actions: actionsSchema({ resource: true }),
});

export type ResourceConfig = SchemaType<typeof schema>;

const NO_RESOURCE: Resource = Object.freeze({ attributes: Object.freeze([]) }) as unknown as Resource;

/** Each ResourceLogs/ResourceSpans/ResourceMetrics' resource; a missing one is created only when it may be changed. */
export function resourceWalker(signal: Signal): Walker {
  const field = signalTypes[signal].resourceField;
  return (model, mutable, visit) => {
    for (const entry of (model as Record<string, { resource?: Resource | null }[]>)[field] ?? []) {
      let resource = entry.resource;
      if (!resource) resource = mutable ? (entry.resource = { attributes: [] }) : NO_RESOURCE;
      if (visit(resource, { signal, resource })) return;
    }
  };
}

export const resourceProcessor: ProcessorFactory<ResourceConfig> = {
  type: 'resource',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    const walk = resourceWalker(ctx.signal);
    const report = statsReporter(ctx.telemetry, { component: ctx.id, signal: ctx.signal });
    return simpleProcessor(ctx, next, (batch) => applyActions(batch, config.actions, walk, report));
  },
};
