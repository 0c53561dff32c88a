// Per-request limits a receiver may enforce beyond the size of the body: items
// (log records, spans, data points) and attributes. Both are off (0) by default;
// counting attributes decodes the request, so it costs only when it is set.
import type { Batch } from '../otlp/batch';
import { dataPointsOf, type KeyValue, type LogsRequest, type MetricsRequest, type TracesRequest } from '../otlp/model';

export interface RequestLimits {
  max_items_per_request: number;
  max_attributes_per_request: number;
}

/** A message saying which limit the request passes, or undefined when it is within them. */
export function overLimits(batch: Batch, limits: RequestLimits): { reason: string; message: string } | undefined {
  if (limits.max_items_per_request > 0) {
    const n = batch.itemCount();
    if (n > limits.max_items_per_request)
      return { reason: 'too_many_items', message: `request holds ${n} items, more than the limit of ${limits.max_items_per_request}: send smaller requests` };
  }
  if (limits.max_attributes_per_request > 0) {
    const n = countAttributes(batch, limits.max_attributes_per_request);
    if (n > limits.max_attributes_per_request)
      return { reason: 'too_many_attributes', message: `request holds more than ${limits.max_attributes_per_request} attributes: send smaller requests` };
  }
  return undefined;
}

/**
 * Attributes of a request: resource, scope, record, span event and link, and data
 * point attributes (top-level keys). Stops counting once past `stopAfter`.
 */
export function countAttributes(batch: Batch, stopAfter = Infinity): number {
  let n = 0;
  const add = (kvs: KeyValue[] | null | undefined) => {
    n += kvs?.length ?? 0;
    return n > stopAfter;
  };
  const model = batch.read();
  if (batch.signal === 'logs') {
    for (const rl of (model as LogsRequest).resourceLogs ?? []) {
      if (add(rl.resource?.attributes)) return n;
      for (const sl of rl.scopeLogs ?? []) {
        if (add(sl.scope?.attributes)) return n;
        for (const lr of sl.logRecords ?? []) if (add(lr.attributes)) return n;
      }
    }
  } else if (batch.signal === 'traces') {
    for (const rs of (model as TracesRequest).resourceSpans ?? []) {
      if (add(rs.resource?.attributes)) return n;
      for (const ss of rs.scopeSpans ?? []) {
        if (add(ss.scope?.attributes)) return n;
        for (const sp of ss.spans ?? []) {
          if (add(sp.attributes)) return n;
          for (const ev of sp.events ?? []) if (add(ev.attributes)) return n;
          for (const ln of sp.links ?? []) if (add(ln.attributes)) return n;
        }
      }
    }
  } else {
    for (const rm of (model as MetricsRequest).resourceMetrics ?? []) {
      if (add(rm.resource?.attributes)) return n;
      for (const sm of rm.scopeMetrics ?? []) {
        if (add(sm.scope?.attributes)) return n;
        for (const m of sm.metrics ?? []) for (const dp of dataPointsOf(m)) if (add(dp.attributes)) return n;
      }
    }
  }
  return n;
}
