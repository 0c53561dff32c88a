// cardinality: removes unbounded attributes (prompt, session and installation ids by
// default) from metrics and merges the points that then coincide, so a backend gets
// one correct series instead of many colliding or exploding ones; caps the series of
// each metric with an overflow series. Metrics only: logs and spans keep every id.
// See README.md in this folder.
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { Batch } from '../../src/otlp/batch';
import type { MetricsRequest } from '../../src/otlp/model';
import { CardinalityEngine, type BatchCounts } from './merge';
import { GAUGE_MODES, ruleSchema, StripRules, stripSchema, type GaugeMode } from './rules';
import { OVERFLOW_ATTRIBUTE } from './state';

const schema = s.object(
  {
    strip: stripSchema,
    rules: s.list(ruleSchema, { default: [] }),
    gauge: s.oneOf<GaugeMode>(GAUGE_MODES, { default: 'last' }),
    max_series_per_metric: s.number({ default: 5000, min: 1, integer: true }),
    idle_timeout: s.duration({ default: '30m' }),
    max_tracked: s.number({ default: 200000, min: 1, integer: true }),
  },
  {
    validate(v, path, ctx) {
      if (v.idle_timeout <= 0) ctx.issues.push({ path: [...path, 'idle_timeout'], severity: 'error', message: 'must be more than 0' });
    },
  },
);

export type CardinalityConfig = SchemaType<typeof schema>;

/** The warning about live state dropped at max_tracked is logged at most this often. */
const EVICTION_WARNING_INTERVAL_MS = 10 * 60 * 1000;

export function zeroCounts(): BatchCounts {
  return { pointsIn: 0, pointsOut: 0, overflow: 0, unmergedSummary: 0, unmergedHistogramBounds: 0, outOfOrder: 0, duplicate: 0 };
}

export function createEngine(config: CardinalityConfig, onOverflow?: (metric: string, limit: number) => void): CardinalityEngine {
  return new CardinalityEngine({
    rules: new StripRules(config.strip, config.rules, config.gauge),
    maxSeriesPerMetric: config.max_series_per_metric,
    idleMs: config.idle_timeout,
    maxTracked: config.max_tracked,
    onOverflow,
  });
}

export const cardinalityProcessor: ProcessorFactory<CardinalityConfig> = {
  type: 'cardinality',
  schema,
  signals: ['metrics'],
  create(config, ctx, next) {
    const engine = createEngine(config, (metric, limit) =>
      ctx.logger.warn(
        { component: ctx.id, metric, limit },
        `metric reached max_series_per_metric: points of new series go to the overflow series (${OVERFLOW_ATTRIBUTE}=true)`,
      ),
    );
    const overflow = ctx.telemetry.counter(
      'cardinality_overflow_points',
      `Metric data points folded into the overflow series (${OVERFLOW_ATTRIBUTE}=true) because their metric reached max_series_per_metric`,
    );
    const unmerged = ctx.telemetry.counter(
      'cardinality_unmerged_points',
      'Metric data points that coincided after attributes were removed but cannot be merged (summaries, histograms with other bounds); kept apart with their original attributes',
    );
    const dropped = (n: number, reason: string) =>
      ctx.telemetry.add('processor_dropped_items', n, { component: ctx.id, signal: ctx.signal, reason });
    const evicted = ctx.telemetry.counter(
      'cardinality_evicted',
      'Series and cumulative sources still reporting that were forgotten because max_tracked was reached (a forgotten source that reports again is counted again in its merged sum)',
    );
    let warnedAt = -Infinity;
    const noteEvictions = () => {
      const e = engine.evicted;
      if (e.series + e.sources === 0) return;
      evicted(e.series, { component: ctx.id, kind: 'series' });
      evicted(e.sources, { component: ctx.id, kind: 'source' });
      const now = Date.now();
      if (now - warnedAt >= EVICTION_WARNING_INTERVAL_MS) {
        warnedAt = now;
        ctx.logger.warn(
          { series: e.series, sources: e.sources, max_tracked: config.max_tracked },
          'cardinality: max_tracked reached, live series and sources were forgotten; merged cumulative sums can count a returning source again: raise max_tracked',
        );
      }
      e.series = 0;
      e.sources = 0;
    };
    return {
      async consume(batch) {
        const c = zeroCounts();
        const out = engine.process(batch.read() as MetricsRequest, Date.now(), c);
        dropped(c.pointsIn - c.pointsOut - c.outOfOrder - c.duplicate, 'merged');
        dropped(c.outOfOrder, 'out_of_order');
        dropped(c.duplicate, 'duplicate');
        overflow(c.overflow, { component: ctx.id });
        unmerged(c.unmergedSummary, { component: ctx.id, reason: 'summary' });
        unmerged(c.unmergedHistogramBounds, { component: ctx.id, reason: 'histogram_bounds' });
        noteEvictions();
        if (!out) return next.consume(batch);
        const b = Batch.fromModel('metrics', out, true);
        b.metadata = batch.metadata;
        if (b.itemCount() > 0) await next.consume(b);
      },
    };
  },
};
