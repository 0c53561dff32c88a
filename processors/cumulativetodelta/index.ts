// cumulativetodelta: turns monotonic cumulative sums, histograms and exponential
// histograms into delta ones, for backends that want delta (Datadog, for one);
// Gemini CLI sends cumulative. Named and configured like the Collector's processor
// of the same name. See README.md in this folder.
import { RE2JS } from 're2js';
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import type { MetricsRequest } from '../../src/otlp/model';
import { patternsSchema } from '../cardinality/rules';
import { pruneEmpty } from '../cardinality/streams';
import { CumulativeToDelta, type C2DCounts, type InitialValue } from './convert';

const schema = s.object(
  {
    include: patternsSchema('metric names to convert; none: every metric'),
    exclude: patternsSchema('metric names not to convert; wins over include'),
    initial_value: s.oneOf<InitialValue>(['auto', 'keep', 'drop'], { default: 'auto' }),
    max_staleness: s.duration({ default: '1h' }),
    max_streams: s.number({ default: 100000, min: 1, integer: true }),
  },
  {
    validate(v, path, ctx) {
      if (v.max_staleness <= 0) ctx.issues.push({ path: [...path, 'max_staleness'], severity: 'error', message: 'must be more than 0' });
    },
  },
);

export type CumulativeToDeltaConfig = SchemaType<typeof schema>;

export const cumulativetodeltaProcessor: ProcessorFactory<CumulativeToDeltaConfig> = {
  type: 'cumulativetodelta',
  schema,
  signals: ['metrics'],
  create(config, ctx, next) {
    let warnedAt = -Infinity;
    const conv = new CumulativeToDelta({
      idleMs: config.max_staleness,
      maxStreams: config.max_streams,
      include: config.include.map((p) => RE2JS.compile(p)),
      exclude: config.exclude.map((p) => RE2JS.compile(p)),
      initialValue: config.initial_value,
      startedNs: BigInt(Date.now()) * 1_000_000n,
      onLimit: () => {
        const now = Date.now();
        if (now - warnedAt < config.max_staleness) return;
        warnedAt = now;
        ctx.logger.warn({ component: ctx.id, max_streams: config.max_streams }, 'max_streams reached: points of new streams are dropped until streams go stale');
      },
    });
    const resets = ctx.telemetry.counter('cumulativetodelta_resets', 'Cumulative streams seen to restart (new start time, or a count that went down)');
    const dropped = (n: number, reason: string) =>
      ctx.telemetry.add('processor_dropped_items', n, { component: ctx.id, signal: ctx.signal, reason });
    return {
      async consume(batch) {
        if (!conv.wants(batch.read() as MetricsRequest)) return next.consume(batch);
        const c: C2DCounts = { outOfOrder: 0, duplicate: 0, streamLimit: 0, noValue: 0, initial: 0, resets: 0 };
        const model = batch.edit() as MetricsRequest;
        conv.convert(model, Date.now(), c);
        pruneEmpty(model);
        dropped(c.outOfOrder, 'out_of_order');
        dropped(c.duplicate, 'duplicate');
        dropped(c.streamLimit, 'stream_limit');
        dropped(c.noValue, 'no_value');
        dropped(c.initial, 'initial_value');
        resets(c.resets, { component: ctx.id });
        if (!batch.isEmpty()) await next.consume(batch);
      },
    };
  },
};
