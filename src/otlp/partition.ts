// Splits a batch by a per-record choice of outputs (log records, spans, metric data
// points), keeping resource and scope with each part. Used by routing. When every
// record goes to the same outputs, the batch itself is handed on untouched, so its
// original bytes still serve the exporters.
import { Batch } from './batch';
import type { RecordContext } from '../conditions';
import type { LogsRequest, Metric, MetricsRequest, TracesRequest, DataPoint } from './model';
import { METRIC_DATA_KINDS } from './model';

/** For each record, a bit mask of the outputs (bit i = output i) it goes to. */
export type Chooser = (r: RecordContext) => number;

export function partition(batch: Batch, outputs: number, choose: Chooser): (Batch | undefined)[] {
  const model = batch.read();
  const masks: number[] = [];
  forEachRecord(batch.signal, model, (r) => masks.push(choose(r)));
  const result: (Batch | undefined)[] = new Array(outputs).fill(undefined);
  if (masks.length === 0) return result;
  if (masks.every((m) => m === masks[0])) {
    for (let i = 0; i < outputs; i++) if (masks[0] & (1 << i)) result[i] = batch.fork();
    return result;
  }
  for (let i = 0; i < outputs; i++) {
    let k = 0;
    const bit = 1 << i;
    const keep = () => (masks[k++] & bit) !== 0;
    const part = select(batch.signal, model, keep);
    if (part) {
      result[i] = Batch.fromModel(batch.signal, part, true);
      result[i]!.metadata = batch.metadata;
    }
  }
  return result;
}

/** Calls `fn` for every record in document order, with its context. */
export function forEachRecord(signal: Batch['signal'], model: unknown, fn: (r: RecordContext) => void): void {
  if (signal === 'logs') {
    for (const rl of (model as LogsRequest).resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? [])
        for (const log of sl.logRecords ?? []) fn({ signal, resource: rl.resource, scope: sl.scope, log });
  } else if (signal === 'traces') {
    for (const rs of (model as TracesRequest).resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const span of ss.spans ?? []) fn({ signal, resource: rs.resource, scope: ss.scope, span });
  } else {
    for (const rm of (model as MetricsRequest).resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const metric of sm.metrics ?? [])
          for (const dataPoint of pointsOf(metric)) fn({ signal, resource: rm.resource, scope: sm.scope, metric, dataPoint });
  }
}

function pointsOf(m: Metric): DataPoint[] {
  for (const k of METRIC_DATA_KINDS) if (m[k]) return m[k]!.dataPoints ?? [];
  return [];
}

/**
 * A new request holding the records for which `keep()` (called once per record, in
 * document order) is true; resource, scope and metric objects are shared, not copied.
 */
function select(signal: Batch['signal'], model: unknown, keep: () => boolean): LogsRequest | TracesRequest | MetricsRequest | undefined {
  let any = false;
  if (signal === 'logs') {
    const out: LogsRequest = { resourceLogs: [] };
    for (const rl of (model as LogsRequest).resourceLogs ?? []) {
      const scopes = [];
      for (const sl of rl.scopeLogs ?? []) {
        const recs = (sl.logRecords ?? []).filter(keep);
        if (recs.length) scopes.push({ ...sl, logRecords: recs });
      }
      if (scopes.length) out.resourceLogs.push({ ...rl, scopeLogs: scopes });
    }
    any = out.resourceLogs.length > 0;
    return any ? out : undefined;
  }
  if (signal === 'traces') {
    const out: TracesRequest = { resourceSpans: [] };
    for (const rs of (model as TracesRequest).resourceSpans ?? []) {
      const scopes = [];
      for (const ss of rs.scopeSpans ?? []) {
        const spans = (ss.spans ?? []).filter(keep);
        if (spans.length) scopes.push({ ...ss, spans });
      }
      if (scopes.length) out.resourceSpans.push({ ...rs, scopeSpans: scopes });
    }
    return out.resourceSpans.length ? out : undefined;
  }
  const out: MetricsRequest = { resourceMetrics: [] };
  for (const rm of (model as MetricsRequest).resourceMetrics ?? []) {
    const scopes = [];
    for (const sm of rm.scopeMetrics ?? []) {
      const metrics: Metric[] = [];
      for (const m of sm.metrics ?? []) {
        const kind = METRIC_DATA_KINDS.find((k) => m[k]);
        if (!kind) continue;
        const pts = (m[kind]!.dataPoints ?? []).filter(keep);
        if (pts.length) metrics.push({ ...m, [kind]: { ...m[kind]!, dataPoints: pts } } as Metric);
      }
      if (metrics.length) scopes.push({ ...sm, metrics });
    }
    if (scopes.length) out.resourceMetrics.push({ ...rm, scopeMetrics: scopes });
  }
  return out.resourceMetrics.length ? out : undefined;
}
