// filter: drops log records, spans, span events, whole metrics or metric data points
// chosen by conditions in the relay's condition syntax, with include and exclude lists
// as the Collector's filter processor has them. Dropped items are counted in
// processor_dropped_items (reason "filtered"); dropped span events, which are not
// items, in filter_span_events_dropped.
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { simpleProcessor, type BatchFn } from '../../src/pipeline/simple-processor';
import { ruleSchema } from './rules';
import { filterLogs, filterMetrics, filterTraces } from './drop';

const schema = s.object({
  logs: ruleSchema,
  spans: ruleSchema,
  span_events: ruleSchema,
  metrics: ruleSchema,
  data_points: ruleSchema,
});

export type FilterConfig = SchemaType<typeof schema>;

const SECTIONS = { logs: ['logs'], traces: ['spans', 'span_events'], metrics: ['metrics', 'data_points'] } as const;

export const filterProcessor: ProcessorFactory<FilterConfig> = {
  type: 'filter',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    const sections = SECTIONS[ctx.signal];
    if (!sections.some((k) => config[k]))
      ctx.logger.warn(
        { pipeline: ctx.pipeline },
        `${ctx.id} has no ${sections.join(' or ')} rules, so it passes every ${ctx.signal} item of this pipeline on`,
      );
    let fn: BatchFn;
    if (ctx.signal === 'logs') {
      const rule = config.logs;
      fn = rule ? (batch) => filterLogs(batch, rule.keep) : (batch) => batch;
    } else if (ctx.signal === 'traces') {
      const spans = config.spans?.keep;
      const events = config.span_events?.keep;
      const eventsDropped = ctx.telemetry.counter('filter_span_events_dropped', 'Span events a filter processor removed');
      const labels = { component: ctx.id, signal: ctx.signal };
      fn =
        spans || events
          ? (batch) => {
              const r = filterTraces(batch, spans, events);
              eventsDropped(r.events, labels);
              return r.out;
            }
          : (batch) => batch;
    } else {
      const metrics = config.metrics?.keep;
      const points = config.data_points?.keep;
      fn = metrics || points ? (batch) => filterMetrics(batch, metrics, points) : (batch) => batch;
    }
    return simpleProcessor(ctx, next, fn, 'filtered');
  },
};
