// limits: caps the size of what one record may carry (attribute values, attribute
// count, array length, log body, span events and links), so that one oversized record
// cannot make a backend refuse a whole request. Counts what it cut (see README.md).
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { simpleProcessor } from '../../src/pipeline/simple-processor';
import type { LogsRequest, MetricsRequest, TracesRequest } from '../../src/otlp/model';
import { Limiter, emptyTally } from './limit';

const count = (def: number) => s.number({ default: def, min: 0, integer: true });

const schema = s.object({
  max_attribute_value_size: s.bytes({ default: 16 * 1024 }),
  max_attributes: count(128),
  max_array_length: count(128),
  max_body_size: s.bytes({ default: 64 * 1024 }),
  max_span_events: count(128),
  max_span_links: count(128),
});

export type LimitsConfig = SchemaType<typeof schema>;

export const limitsProcessor: ProcessorFactory<LimitsConfig> = {
  type: 'limits',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    const limiter = new Limiter({
      attributeValueSize: config.max_attribute_value_size,
      attributes: config.max_attributes,
      arrayLength: config.max_array_length,
      bodySize: config.max_body_size,
      spanEvents: config.max_span_events,
      spanLinks: config.max_span_links,
    });
    const truncated = ctx.telemetry.counter('limits_truncated_values', 'Values (attribute values, log bodies, arrays) the limits processor shortened');
    const truncatedBytes = ctx.telemetry.counter('limits_truncated_bytes', 'Bytes the limits processor cut from attribute values and log bodies');
    const dropped = ctx.telemetry.counter('limits_dropped', 'Attributes, array elements, span events and span links the limits processor removed');
    const base = { component: ctx.id, signal: ctx.signal };
    const walk =
      ctx.signal === 'logs'
        ? (m: unknown, w: boolean) => limiter.logs(m as LogsRequest, w)
        : ctx.signal === 'traces'
          ? (m: unknown, w: boolean) => limiter.traces(m as TracesRequest, w)
          : (m: unknown, w: boolean) => limiter.metrics(m as MetricsRequest, w);

    return simpleProcessor(ctx, next, (batch) => {
      if (!walk(batch.read(), false)) return batch;
      limiter.tally = emptyTally();
      walk(batch.editRecords(), true);
      const t = limiter.tally;
      truncated(t.valuesCut, { ...base, limit: 'attribute_value_size' });
      truncated(t.bodiesCut, { ...base, limit: 'body_size' });
      truncated(t.arraysCut, { ...base, limit: 'array_length' });
      truncatedBytes(t.valueBytes, { ...base, limit: 'attribute_value_size' });
      truncatedBytes(t.bodyBytes, { ...base, limit: 'body_size' });
      dropped(t.attributes, { ...base, kind: 'attribute' });
      dropped(t.arrayElements, { ...base, kind: 'array_element' });
      dropped(t.spanEvents, { ...base, kind: 'span_event' });
      dropped(t.spanLinks, { ...base, kind: 'span_link' });
      if (t.valuesCut + t.bodiesCut + t.arraysCut + t.attributes + t.spanEvents + t.spanLinks > 0)
        ctx.logger.debug({ ...base, ...t }, 'limits applied');
      return batch;
    });
  },
};
