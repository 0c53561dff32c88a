// Cumulative to delta: each point of a monotonic cumulative sum, histogram or
// exponential histogram becomes what its stream gained since the previous point,
// over the window from that point's time to this one's. A reset (new start time,
// or a count that went down) sends the new running value as the delta since the
// restart. Non-monotonic sums are left alone: their differences are not counts.
import type { RE2JS } from 're2js';
import type { DataPoint, MetricsRequest } from '../../src/otlp/model';
import { bigOf, int64Of } from '../cardinality/exact';
import { TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA, type MetricKind } from '../cardinality/keys';
import { copyBase, forEachMetric, StreamTable } from '../cardinality/streams';
import { gained, hasNoRecordedValue, readValue, writeValue, type Value } from '../cardinality/values';

export type InitialValue = 'auto' | 'keep' | 'drop';

interface Stream {
  start: bigint;
  lastTime: bigint;
  last: Value;
}

export interface C2DCounts {
  outOfOrder: number;
  duplicate: number;
  streamLimit: number;
  noValue: number;
  /** First points not sent, by initial_value. */
  initial: number;
  resets: number;
}

export interface C2DOptions {
  idleMs: number;
  maxStreams: number;
  include: RE2JS[];
  exclude: RE2JS[];
  initialValue: InitialValue;
  /** When the processor started (ns): with initial_value auto, streams that started later are new, so their first value is a delta. */
  startedNs: bigint;
  onLimit?: () => void;
}

function converts(kind: MetricKind, data: { aggregationTemporality?: number; isMonotonic?: boolean }): boolean {
  if (data.aggregationTemporality !== TEMPORALITY_CUMULATIVE) return false;
  if (kind === 'sum') return data.isMonotonic === true;
  return kind === 'histogram' || kind === 'exponentialHistogram';
}

export class CumulativeToDelta {
  readonly streams: StreamTable<Stream>;
  private readonly byName = new Map<string, boolean>();

  constructor(private readonly opts: C2DOptions) {
    this.streams = new StreamTable(opts.idleMs, opts.maxStreams);
  }

  private selected(name: string): boolean {
    let hit = this.byName.get(name);
    if (hit === undefined) {
      const inc = this.opts.include.length === 0 || this.opts.include.some((re) => re.test(name));
      hit = inc && !this.opts.exclude.some((re) => re.test(name));
      if (this.byName.size >= 10000) this.byName.clear();
      this.byName.set(name, hit);
    }
    return hit;
  }

  /** Whether the request holds anything to convert (read-only look, so untouched requests keep their bytes). */
  wants(req: MetricsRequest): boolean {
    let found = false;
    forEachMetric(req, (_k, m, kind) => {
      if (!found && converts(kind, m[kind] as object) && this.selected(m.name ?? '')) found = true;
    });
    return found;
  }

  /** Converts in place (req must be a private copy). */
  convert(req: MetricsRequest, now: number, counts: C2DCounts): void {
    this.streams.sweep(now);
    forEachMetric(req, (groupKey, m, kind) => {
      const data = m[kind] as { dataPoints?: DataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
      if (!converts(kind, data) || !this.selected(m.name ?? '')) return;
      const gk = groupKey();
      const out: DataPoint[] = [];
      for (const p of data.dataPoints ?? []) {
        const q = this.point(gk, kind, p, now, counts);
        if (q) out.push(q);
      }
      data.dataPoints = out;
      data.aggregationTemporality = TEMPORALITY_DELTA;
    });
  }

  private point(gk: string, kind: MetricKind, p: DataPoint, now: number, counts: C2DCounts): DataPoint | undefined {
    const attrs = p.attributes ?? [];
    const time = bigOf(p.timeUnixNano);
    const start = bigOf(p.startTimeUnixNano);
    if (hasNoRecordedValue(p)) {
      // The stream ended: a later point starts a new one.
      this.streams.delete(gk, attrs);
      return { ...copyBase(p), flags: p.flags } as DataPoint;
    }
    const v = readValue(kind, p);
    if (!v) {
      counts.noValue++;
      return undefined;
    }
    const st = this.streams.get(gk, attrs, now);
    if (!st) {
      if (!this.streams.add(gk, attrs, { start, lastTime: time, last: v }, now)) {
        counts.streamLimit++;
        this.opts.onLimit?.();
        return undefined;
      }
      const mode = this.opts.initialValue;
      if (mode === 'keep' || (mode === 'auto' && start !== 0n && start > this.opts.startedNs && start !== time)) return this.emit(p, v, start);
      counts.initial++;
      return undefined;
    }
    if (time <= st.lastTime) {
      if (time === st.lastTime) counts.duplicate++;
      else counts.outOfOrder++;
      return undefined;
    }
    const d = start === st.start ? gained(v, st.last, true) : null;
    let from = st.lastTime;
    if (d === null) {
      counts.resets++;
      if (start > st.lastTime) from = start;
    }
    st.start = start;
    st.lastTime = time;
    st.last = v;
    return this.emit(p, d ?? v, from);
  }

  private emit(p: DataPoint, v: Value, start: bigint): DataPoint {
    const q = copyBase(p);
    if (start !== 0n) q.startTimeUnixNano = int64Of(start, true);
    writeValue(v, q);
    return q as DataPoint;
  }
}
