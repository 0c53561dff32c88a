// routing: sends each record to the pipelines of the first (or every) route whose
// condition it matches, and the rest to default_pipelines, like the Collector's
// routing connector, but per record and with the relay's condition syntax:
//   routing/audit:
//     table:
//       - condition: {event: tool_decision}
//         pipelines: [logs/audit]
//     default_pipelines: [logs/main]
import { s, type SchemaType } from '../config/schema';
import { conditionSchema } from '../conditions';
import { DeliveryError, type ConnectorFactory, type Consumer } from '../pipeline/component';
import { partition } from '../otlp/partition';

const schema = s.object(
  {
    table: s.list(
      s.object({ condition: conditionSchema, pipelines: s.list(s.string({ nonEmpty: true }), { minItems: 1 }) }, { required: ['condition', 'pipelines'] }),
      { default: [] },
    ),
    default_pipelines: s.list(s.string({ nonEmpty: true }), { default: [] }),
    /** Stop at the first matching route (true, the default) or send to every matching route. */
    match_once: s.bool({ default: true }),
  },
  {
    validate(v, path, ctx) {
      if (v.table.length + v.default_pipelines.length === 0)
        ctx.issues.push({ path, severity: 'error', message: 'a routing connector needs a table or default_pipelines' });
    },
  },
);

type Config = SchemaType<typeof schema>;

export const routingConnector: ConnectorFactory<Config> = {
  type: 'routing',
  schema,
  pairs: [['logs', 'logs'], ['metrics', 'metrics'], ['traces', 'traces']],
  pipelinesOf(config) {
    return [
      ...config.table.flatMap((r, i) => r.pipelines.map((p, j) => ({ path: ['table', i, 'pipelines', j], pipeline: p }))),
      ...config.default_pipelines.map((p, j) => ({ path: ['default_pipelines', j], pipeline: p })),
    ];
  },
  create(config, ctx, outputs) {
    // Output slots: one per distinct pipeline id, in order of first mention.
    const ids = [...new Set([...config.table.flatMap((r) => r.pipelines), ...config.default_pipelines])];
    if (ids.length > 30) throw new Error(`${ctx.id}: a routing connector feeds at most 30 pipelines`);
    const maskOf = (list: string[]) => list.reduce((m, p) => m | (1 << ids.indexOf(p)), 0);
    const routes = config.table.map((r) => ({ cond: r.condition, mask: maskOf(r.pipelines) }));
    const defaultMask = maskOf(config.default_pipelines);
    return {
      async consume(batch) {
        const parts = partition(batch, ids.length, (rec) => {
          let mask = 0;
          for (const r of routes) {
            if (r.cond(rec)) {
              mask |= r.mask;
              if (config.match_once) break;
            }
          }
          return mask || defaultMask;
        });
        const sends: Promise<void>[] = [];
        parts.forEach((part, i) => {
          if (!part) return;
          const out: Consumer | undefined = outputs.get(ids[i]);
          if (!out) return;
          ctx.telemetry.add('connector_routed_items', part.itemCount(), { component: ctx.id, signal: ctx.to, pipeline: ids[i] });
          sends.push(out.consume(part));
        });
        const results = await Promise.allSettled(sends);
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed.length) {
          const retryable = failed.some((f) => !(f.reason instanceof DeliveryError) || f.reason.retryable);
          throw new DeliveryError(failed.map((f) => (f.reason as Error).message).join('; '), retryable);
        }
      },
    };
  },
};
