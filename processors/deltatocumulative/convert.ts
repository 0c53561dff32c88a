// Delta to cumulative: each delta point of a sum, histogram or exponential histogram
// becomes the running total of its stream since the stream's first point, with that
// first point's start time on every later point. A point that does not follow the
// previous one (its window ends no later, or starts before the previous one ended)
// is dropped and counted, never added twice.
import type { DataPoint, MetricsRequest } from '../../src/otlp/model';
import { bigOf, int64Of } from '../cardinality/exact';
import { TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA, type MetricKind } from '../cardinality/keys';
import { copyBase, forEachMetric, StreamTable } from '../cardinality/streams';
import { addValue, cloneValue, hasNoRecordedValue, mergeable, readValue, writeValue, type Value } from '../cardinality/values';

interface Stream {
  start: bigint;
  lastStart: bigint;
  lastTime: bigint;
  total: Value;
}

export interface D2CCounts {
  outOfOrder: number;
  duplicate: number;
  streamLimit: number;
  /** Points with neither asInt nor asDouble. */
  noValue: number;
  /** Histogram bounds changed: the running total started over. */
  resets: number;
}

const CONVERTED_KINDS = new Set(['sum', 'histogram', 'exponentialHistogram']);

/** Whether the request holds anything to convert (read-only look, so untouched requests keep their bytes). */
export function hasDelta(req: MetricsRequest): boolean {
  let found = false;
  forEachMetric(req, (_k, m, kind) => {
    if (CONVERTED_KINDS.has(kind) && (m[kind] as { aggregationTemporality?: number }).aggregationTemporality === TEMPORALITY_DELTA) found = true;
  });
  return found;
}

export class DeltaToCumulative {
  readonly streams: StreamTable<Stream>;

  constructor(idleMs: number, maxStreams: number, private readonly onLimit?: () => void) {
    this.streams = new StreamTable(idleMs, maxStreams);
  }

  /** Converts the delta metrics of `req` in place (req must be a private copy). */
  convert(req: MetricsRequest, now: number, counts: D2CCounts): void {
    this.streams.sweep(now);
    forEachMetric(req, (groupKey, m, kind) => {
      const data = m[kind] as { dataPoints?: DataPoint[]; aggregationTemporality?: number };
      if (!CONVERTED_KINDS.has(kind) || data.aggregationTemporality !== TEMPORALITY_DELTA) return;
      const gk = groupKey();
      const out: DataPoint[] = [];
      for (const p of data.dataPoints ?? []) {
        const q = this.point(gk, kind, p, now, counts);
        if (q) out.push(q);
      }
      data.dataPoints = out;
      data.aggregationTemporality = TEMPORALITY_CUMULATIVE;
    });
  }

  private point(gk: string, kind: MetricKind, p: DataPoint, now: number, counts: D2CCounts): DataPoint | undefined {
    const attrs = p.attributes ?? [];
    const time = bigOf(p.timeUnixNano);
    const start = bigOf(p.startTimeUnixNano);
    const st = this.streams.get(gk, attrs, now);
    if (hasNoRecordedValue(p)) {
      // A staleness marker carries no value: pass it on with the stream's start.
      const q = { ...copyBase(p), flags: p.flags } as Record<string, unknown>;
      if (st) q.startTimeUnixNano = int64Of(st.start, true);
      return q as DataPoint;
    }
    const v = readValue(kind, p);
    if (!v) {
      counts.noValue++;
      return undefined;
    }
    if (!st) {
      const s: Stream = { start: start || time, lastStart: start, lastTime: time, total: cloneValue(v) };
      if (!this.streams.add(gk, attrs, s, now)) {
        counts.streamLimit++;
        this.onLimit?.();
        return undefined;
      }
      return this.emit(p, s);
    }
    if (time <= st.lastTime) {
      if (time === st.lastTime && start === st.lastStart) counts.duplicate++;
      else counts.outOfOrder++;
      return undefined;
    }
    if (start !== 0n && start < st.lastTime) {
      counts.outOfOrder++;
      return undefined;
    }
    if (mergeable(st.total, v)) addValue(st.total, v);
    else {
      counts.resets++;
      st.total = cloneValue(v);
      st.start = start || time;
    }
    st.lastStart = start;
    st.lastTime = time;
    return this.emit(p, st);
  }

  private emit(p: DataPoint, s: Stream): DataPoint {
    const q = copyBase(p);
    q.startTimeUnixNano = int64Of(s.start, true);
    writeValue(s.total, q);
    return q as DataPoint;
  }
}
