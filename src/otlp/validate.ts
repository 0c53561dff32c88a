// Removes the records that break OTLP's rules and could not be exported faithfully
// (a trace id that is not 16 bytes, a span id that is not 8), so one bad record
// does not cost the good ones around it: the receiver answers partial_success.
import type { Batch } from './batch';
import type { LogsRequest, TracesRequest } from './model';

const okTraceId = (b?: Uint8Array) => !b || b.length === 0 || b.length === 16;
const okSpanId = (b?: Uint8Array) => !b || b.length === 0 || b.length === 8;

export function rejectInvalid(batch: Batch): { rejected: number; message: string } {
  if (batch.signal === 'metrics') return { rejected: 0, message: '' };
  if (!hasInvalid(batch)) return { rejected: 0, message: '' };
  let rejected = 0;
  // The records that stay keep their received bytes.
  const model = batch.editRecords();
  if (batch.signal === 'traces') {
    for (const rs of (model as TracesRequest).resourceSpans)
      for (const ss of rs.scopeSpans) {
        const before = ss.spans.length;
        ss.spans = ss.spans.filter(
          (sp) => sp.traceId?.length === 16 && sp.spanId?.length === 8 && okSpanId(sp.parentSpanId),
        );
        rejected += before - ss.spans.length;
      }
    return { rejected, message: `${rejected} span(s) rejected: trace_id must be 16 bytes and span_id 8 bytes` };
  }
  for (const rl of (model as LogsRequest).resourceLogs)
    for (const sl of rl.scopeLogs) {
      const before = sl.logRecords.length;
      sl.logRecords = sl.logRecords.filter((lr) => okTraceId(lr.traceId) && okSpanId(lr.spanId));
      rejected += before - sl.logRecords.length;
    }
  return { rejected, message: `${rejected} log record(s) rejected: trace_id must be empty or 16 bytes, span_id empty or 8 bytes` };
}

function hasInvalid(batch: Batch): boolean {
  // Protobuf input was checked by the wire scan; only a model built from JSON is walked here.
  if (batch.isUndecoded()) return batch.badIds;
  const model = batch.read();
  if (batch.signal === 'traces') {
    for (const rs of (model as TracesRequest).resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? [])
        for (const sp of ss.spans ?? [])
          if (sp.traceId?.length !== 16 || sp.spanId?.length !== 8 || !okSpanId(sp.parentSpanId)) return true;
    return false;
  }
  for (const rl of (model as LogsRequest).resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? [])
      for (const lr of sl.logRecords ?? []) if (!okTraceId(lr.traceId) || !okSpanId(lr.spanId)) return true;
  return false;
}
