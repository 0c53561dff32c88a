// Dropping records from a batch. Each function first decides, on the read-only model,
// what stays (one flag per record, in document order); a batch that loses nothing is
// handed on untouched (so protobuf input keeps its bytes). Otherwise the batch is
// edited and the flags applied in the same order; scopes and resources left empty go.
import type { Batch } from '../../src/otlp/batch';
import type { Condition } from '../../src/conditions';
import type { LogsRequest, Metric, MetricsRequest, TracesRequest } from '../../src/otlp/model';
import { METRIC_DATA_KINDS } from '../../src/otlp/model';
import { forgetBytes } from '../../src/otlp/record-bytes';

function kindOf(m: Metric) {
  for (const k of METRIC_DATA_KINDS) if (m[k]) return k;
  return undefined;
}

/** Log records: keep those `keep` accepts. Null when none is left. */
export function filterLogs(batch: Batch, keep: Condition): Batch | null {
  const flags: boolean[] = [];
  let dropped = 0;
  const signal = 'logs';
  for (const rl of (batch.read() as LogsRequest).resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? [])
      for (const log of sl.logRecords ?? []) {
        const k = keep({ signal, resource: rl.resource, scope: sl.scope, log });
        flags.push(k);
        if (!k) dropped++;
      }
  if (dropped === 0) return batch;
  if (dropped === flags.length) return null;
  // Records that stay keep their received bytes: only lists change.
  const m = batch.editRecords() as LogsRequest;
  let i = 0;
  m.resourceLogs = (m.resourceLogs ?? []).filter((rl) => {
    rl.scopeLogs = (rl.scopeLogs ?? []).filter((sl) => {
      sl.logRecords = (sl.logRecords ?? []).filter(() => flags[i++]);
      return sl.logRecords.length > 0;
    });
    return rl.scopeLogs.length > 0;
  });
  return batch;
}

/**
 * Spans, then the events of the spans that stay. Returns the batch (or null when no
 * span is left) and the number of span events dropped.
 */
export function filterTraces(batch: Batch, spanKeep: Condition | undefined, eventKeep: Condition | undefined): { out: Batch | null; events: number } {
  const spanFlags: boolean[] = [];
  const eventFlags: boolean[] = [];
  let spansDropped = 0;
  let eventsDropped = 0;
  const signal = 'traces';
  for (const rs of (batch.read() as TracesRequest).resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const span of ss.spans ?? []) {
        const k = spanKeep ? spanKeep({ signal, resource: rs.resource, scope: ss.scope, span }) : true;
        spanFlags.push(k);
        if (!k) {
          spansDropped++;
          continue;
        }
        if (!eventKeep) continue;
        for (const spanEvent of span.events ?? []) {
          const e = eventKeep({ signal, resource: rs.resource, scope: ss.scope, span, spanEvent });
          eventFlags.push(e);
          if (!e) eventsDropped++;
        }
      }
  if (spansDropped === 0 && eventsDropped === 0) return { out: batch, events: 0 };
  if (spansDropped === spanFlags.length) return { out: null, events: 0 };
  const m = batch.editRecords() as TracesRequest;
  let s = 0;
  let e = 0;
  m.resourceSpans = (m.resourceSpans ?? []).filter((rs) => {
    rs.scopeSpans = (rs.scopeSpans ?? []).filter((ss) => {
      ss.spans = (ss.spans ?? []).filter((span) => {
        if (!spanFlags[s++]) return false;
        if (eventKeep && span.events?.length) {
          const before = span.events.length;
          span.events = span.events.filter(() => eventFlags[e++]);
          if (span.events.length < before) forgetBytes(span);
        }
        return true;
      });
      return ss.spans.length > 0;
    });
    return rs.scopeSpans.length > 0;
  });
  return { out: batch, events: eventsDropped };
}

/**
 * Whole metrics, then the data points of the metrics that stay; a metric whose points
 * were all dropped goes too. Null when nothing is left.
 */
export function filterMetrics(batch: Batch, metricKeep: Condition | undefined, pointKeep: Condition | undefined): Batch | null {
  const metricFlags: boolean[] = [];
  const pointFlags: boolean[] = [];
  let changed = false;
  let anyLeft = false;
  const signal = 'metrics';
  for (const rm of (batch.read() as MetricsRequest).resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const metric of sm.metrics ?? []) {
        const k = metricKeep ? metricKeep({ signal, resource: rm.resource, scope: sm.scope, metric }) : true;
        metricFlags.push(k);
        if (!k) {
          changed = true;
          continue;
        }
        const kind = kindOf(metric);
        const points = kind ? metric[kind]!.dataPoints ?? [] : [];
        if (!pointKeep || points.length === 0) {
          anyLeft = true;
          continue;
        }
        let kept = 0;
        for (const dataPoint of points) {
          const p = pointKeep({ signal, resource: rm.resource, scope: sm.scope, metric, dataPoint });
          pointFlags.push(p);
          if (p) kept++;
        }
        if (kept < points.length) changed = true;
        if (kept > 0) anyLeft = true;
      }
  if (!changed) return batch;
  if (!anyLeft) return null;
  const m = batch.editRecords() as MetricsRequest;
  let mi = 0;
  let pi = 0;
  m.resourceMetrics = (m.resourceMetrics ?? []).filter((rm) => {
    rm.scopeMetrics = (rm.scopeMetrics ?? []).filter((sm) => {
      sm.metrics = (sm.metrics ?? []).filter((metric) => {
        if (!metricFlags[mi++]) return false;
        const kind = kindOf(metric);
        const data = kind ? metric[kind]! : undefined;
        if (!pointKeep || !data || !(data.dataPoints?.length)) return true;
        const before = data.dataPoints.length;
        data.dataPoints = data.dataPoints.filter(() => pointFlags[pi++]);
        if (data.dataPoints.length < before) forgetBytes(metric);
        return data.dataPoints.length > 0;
      });
      return sm.metrics.length > 0;
    });
    return rm.scopeMetrics.length > 0;
  });
  return batch;
}
