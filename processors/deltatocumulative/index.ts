// deltatocumulative: turns delta sums, histograms and exponential histograms into
// cumulative ones (running total per stream, stable start time), for backends that
// refuse or mangle delta data (Prometheus, Mimir, Grafana Cloud). Claude Code sends
// delta sums and Codex delta sums and histograms. Named and configured like the
// Collector's processor of the same name. See README.md in this folder.
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import type { MetricsRequest } from '../../src/otlp/model';
import { pruneEmpty } from '../cardinality/streams';
import { DeltaToCumulative, hasDelta, type D2CCounts } from './convert';

const schema = s.object(
  {
    max_stale: s.duration({ default: '5m' }),
    max_streams: s.number({ default: 100000, min: 1, integer: true }),
  },
  {
    validate(v, path, ctx) {
      if (v.max_stale <= 0) ctx.issues.push({ path: [...path, 'max_stale'], severity: 'error', message: 'must be more than 0' });
    },
  },
);

export type DeltaToCumulativeConfig = SchemaType<typeof schema>;

export const deltatocumulativeProcessor: ProcessorFactory<DeltaToCumulativeConfig> = {
  type: 'deltatocumulative',
  schema,
  signals: ['metrics'],
  create(config, ctx, next) {
    let warnedAt = -Infinity;
    const conv = new DeltaToCumulative(config.max_stale, config.max_streams, () => {
      const now = Date.now();
      if (now - warnedAt < config.max_stale) return;
      warnedAt = now;
      ctx.logger.warn({ component: ctx.id, max_streams: config.max_streams }, 'max_streams reached: points of new streams are dropped until streams go stale');
    });
    const resets = ctx.telemetry.counter('deltatocumulative_resets', 'Streams whose running total started over because their histogram bounds changed');
    const dropped = (n: number, reason: string) =>
      ctx.telemetry.add('processor_dropped_items', n, { component: ctx.id, signal: ctx.signal, reason });
    return {
      async consume(batch) {
        if (!hasDelta(batch.read() as MetricsRequest)) return next.consume(batch);
        const c: D2CCounts = { outOfOrder: 0, duplicate: 0, streamLimit: 0, noValue: 0, resets: 0 };
        const model = batch.edit() as MetricsRequest;
        conv.convert(model, Date.now(), c);
        pruneEmpty(model);
        dropped(c.outOfOrder, 'out_of_order');
        dropped(c.duplicate, 'duplicate');
        dropped(c.streamLimit, 'stream_limit');
        dropped(c.noValue, 'no_value');
        resets(c.resets, { component: ctx.id });
        if (!batch.isEmpty()) await next.consume(batch);
      },
    };
  },
};
