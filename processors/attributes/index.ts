// attributes: inserts, updates, deletes, renames, converts, truncates, hashes and
// copies the attributes of log records, spans, span events and metric data points,
// as a list of actions applied in order (like the Collector's attributes processor,
// plus rename, copy and a keyed hash). Each action may be limited by `where`.
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { simpleProcessor } from '../../src/pipeline/simple-processor';
import type { Signal } from '../../src/otlp/schema';
import type { LogsRequest, MetricsRequest, TracesRequest } from '../../src/otlp/model';
import { METRIC_DATA_KINDS } from '../../src/otlp/model';
import { actionsSchema } from './actions';
import { applyActions, statsReporter, type Walker } from './run';

const schema = s.object({
  actions: actionsSchema({ resource: false }),
  /** Conditions treat span events as records of their own, so actions reach them too; false limits actions to spans. */
  span_events: s.bool({ default: true }),
});

export type AttributesConfig = SchemaType<typeof schema>;

/** The holders of record attributes of one signal, with the context conditions see. */
export function recordWalker(signal: Signal, spanEvents: boolean): Walker {
  if (signal === 'logs') {
    return (model, _mutable, visit) => {
      for (const rl of (model as LogsRequest).resourceLogs ?? [])
        for (const sl of rl.scopeLogs ?? [])
          for (const log of sl.logRecords ?? []) if (visit(log, { signal, resource: rl.resource, scope: sl.scope, log }, log)) return;
    };
  }
  if (signal === 'traces') {
    return (model, _mutable, visit) => {
      for (const rs of (model as TracesRequest).resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? [])
          for (const span of ss.spans ?? []) {
            if (visit(span, { signal, resource: rs.resource, scope: ss.scope, span }, span)) return;
            if (!spanEvents) continue;
            for (const spanEvent of span.events ?? [])
              if (visit(spanEvent, { signal, resource: rs.resource, scope: ss.scope, span, spanEvent }, span)) return;
          }
    };
  }
  return (model, _mutable, visit) => {
    for (const rm of (model as MetricsRequest).resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const metric of sm.metrics ?? []) {
          const kind = METRIC_DATA_KINDS.find((k) => metric[k]);
          if (!kind) continue;
          for (const dataPoint of metric[kind]!.dataPoints ?? [])
            if (visit(dataPoint, { signal, resource: rm.resource, scope: sm.scope, metric, dataPoint }, metric)) return;
        }
  };
}

export const attributesProcessor: ProcessorFactory<AttributesConfig> = {
  type: 'attributes',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    const walk = recordWalker(ctx.signal, config.span_events);
    const report = statsReporter(ctx.telemetry, { component: ctx.id, signal: ctx.signal });
    return simpleProcessor(ctx, next, (batch) => applyActions(batch, config.actions, walk, report));
  },
};
