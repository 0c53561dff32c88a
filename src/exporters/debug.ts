// debug: writes what passes to the relay's log. `basic` logs one summary line per
// batch; `detailed` logs every record as OTLP/JSON. Meant for trying configs out,
// not for production (detailed output includes whatever the agents sent).
import { s, type SchemaType } from '../config/schema';
import type { ExporterFactory } from '../pipeline/component';

const schema = s.object({
  verbosity: s.oneOf(['basic', 'normal', 'detailed'] as const, { default: 'basic' }),
});

export const debugExporter: ExporterFactory<SchemaType<typeof schema>> = {
  type: 'debug',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, signal) {
    return {
      async consume(batch) {
        const items = batch.itemCount();
        const model = batch.read() as unknown as Record<string, unknown[]>;
        const resources = Object.values(model)[0]?.length ?? 0;
        if (config.verbosity === 'detailed') {
          ctx.logger.info({ signal, items, resources, data: batch.toJsonObject() }, `${signal} batch`);
        } else {
          ctx.logger.info({ signal, items, resources }, `${signal} batch`);
        }
        ctx.telemetry.add('exporter_sent_items', items, { component: ctx.id, signal });
      },
    };
  },
};
