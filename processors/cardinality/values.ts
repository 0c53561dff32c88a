// Values of the mergeable data points (sums, histograms, exponential histograms)
// with the two operations the three metric processors need: add (merge two points
// of one interval or two sources) and minus (what a cumulative source gained since
// its previous point; null when it is not a continuation, i.e. a reset).
import type { DataPoint, Int64 } from '../../src/otlp/model';
import { int64Number } from '../../src/conditions';
import { Exact, numberValueOf } from './exact';
import type { MetricKind } from './keys';

const hasOwn = Object.prototype.hasOwnProperty;

function optDouble(p: DataPoint, key: 'sum' | 'min' | 'max' | 'zeroThreshold'): number | undefined {
  const v = hasOwn.call(p, key) ? (p as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' ? v : undefined;
}

function counts(xs: unknown): number[] {
  if (!Array.isArray(xs)) return [];
  const out = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = int64Number(xs[i] as Int64) || 0;
  return out;
}

const NO_BOUNDS: readonly number[] = [];
/** Bounds seen lately, most recent first: a histogram's points nearly always repeat one of a few sets. */
const recentBounds: (readonly number[])[] = [];
const RECENT_BOUNDS = 16;

function sameNumbers(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * The explicit bounds of a point as a shared copy: state then holds neither the
 * decoded request's array nor one copy per series, and equal bounds compare at once.
 */
function boundsOf(xs: unknown): readonly number[] {
  if (!Array.isArray(xs) || xs.length === 0) return NO_BOUNDS;
  for (let i = 0; i < recentBounds.length; i++) {
    const b = recentBounds[i];
    if (b !== xs && !sameNumbers(b, xs)) continue;
    if (i > 0) {
      recentBounds.splice(i, 1);
      recentBounds.unshift(b);
    }
    return b;
  }
  const copy = xs.slice() as number[];
  recentBounds.unshift(copy);
  if (recentBounds.length > RECENT_BOUNDS) recentBounds.pop();
  return copy;
}

function minOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function sumPlus(a: Exact | null, b: Exact | null): Exact | null {
  if (!a || !b) return null;
  const s = a.clone();
  s.add(b);
  return s;
}

function sumMinus(a: Exact | null, b: Exact | null): Exact | null {
  if (!a || !b) return null;
  const s = a.clone();
  s.sub(b);
  return s;
}

// ---------------------------------------------------------------------------
// Explicit-bucket histograms

/** Bucket counts without their trailing zeros (most buckets of a histogram above its usual values stay empty). */
function trimmedCounts(xs: unknown[]): number[] {
  let n = xs.length;
  while (n > 0 && !(int64Number(xs[n - 1] as Int64) || 0)) n--;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = int64Number(xs[i] as Int64) || 0;
  return out;
}

function padded(counts: readonly number[], size: number): number[] {
  const out = counts.slice();
  while (out.length < size) out.push(0);
  return out;
}

export class Hist {
  constructor(
    public count: number,
    public sum: Exact | null,
    public readonly bounds: readonly number[],
    /** Bucket counts up to the last non-zero one: the rest, up to `size`, are zero. */
    private counts: number[],
    /** How many bucket counts there are. */
    readonly size: number,
    public min?: number,
    public max?: number,
  ) {}

  static read(p: DataPoint): Hist {
    const sum = optDouble(p, 'sum');
    const bounds = boundsOf(p.explicitBounds);
    const xs = Array.isArray(p.bucketCounts) ? (p.bucketCounts as unknown[]) : [];
    return new Hist(int64Number(p.count) || 0, sum === undefined ? null : Exact.ofDouble(sum), bounds, trimmedCounts(xs), xs.length, optDouble(p, 'min'), optDouble(p, 'max'));
  }

  /** Every bucket count (a copy). */
  get buckets(): number[] {
    return padded(this.counts, this.size);
  }

  /** Same explicit bounds: only then do bucket counts line up. */
  sameBounds(o: Hist): boolean {
    const a = this.bounds;
    const b = o.bounds;
    if (a === b) return this.size === o.size;
    if (a.length !== b.length || this.size !== o.size) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
    return true;
  }

  clone(): Hist {
    return new Hist(this.count, this.sum?.clone() ?? null, this.bounds, this.counts.slice(), this.size, this.min, this.max);
  }

  /** Adds o (same bounds) into this. */
  add(o: Hist): void {
    this.count += o.count;
    this.sum = sumPlus(this.sum, o.sum);
    const c = this.counts;
    const n = Math.min(o.counts.length, this.size);
    while (c.length < n) c.push(0);
    for (let i = 0; i < n; i++) c[i] += o.counts[i];
    this.min = minOf(this.min, o.min);
    this.max = maxOf(this.max, o.max);
  }

  /** this - earlier, or null when a count went down (a reset). Min and max of a difference are unknown. */
  minus(earlier: Hist): Hist | null {
    if (!this.sameBounds(earlier) || this.count < earlier.count) return null;
    const n = Math.max(this.counts.length, earlier.counts.length);
    const b = new Array<number>(n);
    let last = 0;
    for (let i = 0; i < n; i++) {
      b[i] = (this.counts[i] ?? 0) - (earlier.counts[i] ?? 0);
      if (b[i] < 0) return null;
      if (b[i] !== 0) last = i + 1;
    }
    b.length = last;
    return new Hist(this.count - earlier.count, sumMinus(this.sum, earlier.sum), this.bounds, b, this.size);
  }

  write(p: Record<string, unknown>): void {
    p.count = this.count;
    if (this.sum) p.sum = this.sum.toNumber();
    // A copy: the value may be running state that changes after this point is sent.
    p.bucketCounts = padded(this.counts, this.size);
    p.explicitBounds = this.bounds;
    if (this.min !== undefined) p.min = this.min;
    if (this.max !== undefined) p.max = this.max;
  }
}

// ---------------------------------------------------------------------------
// Exponential histograms

interface Buckets {
  offset: number;
  counts: number[];
}

/** The OpenTelemetry SDKs' default maximum number of buckets per range. */
export const EXP_MAX_BUCKETS = 160;

function downscaleBuckets(b: Buckets, by: number): Buckets {
  if (by <= 0 || b.counts.length === 0) return b;
  const f = 2 ** by;
  const off = Math.floor(b.offset / f);
  const last = Math.floor((b.offset + b.counts.length - 1) / f);
  const out = new Array<number>(last - off + 1).fill(0);
  for (let k = 0; k < b.counts.length; k++) out[Math.floor((b.offset + k) / f) - off] += b.counts[k];
  return { offset: off, counts: out };
}

/** Index range [lo, hi] a set of bucket ranges covers once brought down by `by` scales (undefined when all are empty). */
function spanAfter(ranges: { b: Buckets; by: number }[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const { b, by } of ranges) {
    if (b.counts.length === 0) continue;
    const f = 2 ** by;
    lo = Math.min(lo, Math.floor(b.offset / f));
    hi = Math.max(hi, Math.floor((b.offset + b.counts.length - 1) / f));
  }
  return hi >= lo ? hi - lo + 1 : 0;
}

function addBuckets(a: Buckets, b: Buckets): Buckets {
  if (b.counts.length === 0) return a;
  if (a.counts.length === 0) return { offset: b.offset, counts: b.counts.slice() };
  const lo = Math.min(a.offset, b.offset);
  const hi = Math.max(a.offset + a.counts.length, b.offset + b.counts.length);
  const out = new Array<number>(hi - lo).fill(0);
  for (let k = 0; k < a.counts.length; k++) out[a.offset - lo + k] += a.counts[k];
  for (let k = 0; k < b.counts.length; k++) out[b.offset - lo + k] += b.counts[k];
  return { offset: lo, counts: out };
}

/** a - b bucket by bucket, or null when a bucket would go negative. */
function minusBuckets(a: Buckets, b: Buckets): Buckets | null {
  const out = a.counts.slice();
  for (let k = 0; k < b.counts.length; k++) {
    if (b.counts[k] === 0) continue;
    const i = b.offset + k - a.offset;
    if (i < 0 || i >= out.length) return null;
    out[i] -= b.counts[k];
    if (out[i] < 0) return null;
  }
  return { offset: a.offset, counts: out };
}

/** Moves the buckets whose upper bound is within the zero threshold into the zero bucket; returns how many counts moved. */
function absorbIntoZero(b: Buckets, scale: number, threshold: number): { rest: Buckets; moved: number } {
  let k = 0;
  let moved = 0;
  const width = 2 ** -scale;
  while (k < b.counts.length && 2 ** ((b.offset + k + 1) * width) <= threshold) moved += b.counts[k++];
  return k === 0 ? { rest: b, moved: 0 } : { rest: { offset: b.offset + k, counts: b.counts.slice(k) }, moved };
}

export class ExpHist {
  constructor(
    public count: number,
    public sum: Exact | null,
    public scale: number,
    public zeroCount: number,
    public zeroThreshold: number,
    public pos: Buckets,
    public neg: Buckets,
    public min?: number,
    public max?: number,
  ) {}

  static read(p: DataPoint): ExpHist {
    const sum = optDouble(p, 'sum');
    const side = (x: unknown): Buckets => {
      const o = x as { offset?: number; bucketCounts?: unknown } | null | undefined;
      return { offset: o?.offset ?? 0, counts: counts(o?.bucketCounts) };
    };
    return new ExpHist(
      int64Number(p.count) || 0,
      sum === undefined ? null : Exact.ofDouble(sum),
      typeof p.scale === 'number' ? p.scale : 0,
      int64Number(p.zeroCount as Int64) || 0,
      optDouble(p, 'zeroThreshold') ?? 0,
      side(p.positive),
      side(p.negative),
      optDouble(p, 'min'),
      optDouble(p, 'max'),
    );
  }

  clone(): ExpHist {
    const c = (b: Buckets) => ({ offset: b.offset, counts: b.counts.slice() });
    return new ExpHist(this.count, this.sum?.clone() ?? null, this.scale, this.zeroCount, this.zeroThreshold, c(this.pos), c(this.neg), this.min, this.max);
  }

  /** Lowers the resolution by `by` scales (each step joins pairs of neighbouring buckets). */
  downscale(by: number): void {
    if (by <= 0) return;
    this.pos = downscaleBuckets(this.pos, by);
    this.neg = downscaleBuckets(this.neg, by);
    this.scale -= by;
  }

  private raiseZeroThreshold(t: number): void {
    if (t <= this.zeroThreshold) return;
    const p = absorbIntoZero(this.pos, this.scale, t);
    const n = absorbIntoZero(this.neg, this.scale, t);
    this.pos = p.rest;
    this.neg = n.rest;
    this.zeroCount += p.moved + n.moved;
    this.zeroThreshold = t;
  }

  /**
   * Adds o into this at the smaller of the two scales, lowered further while either
   * range would need more than maxBuckets buckets.
   */
  add(o: ExpHist, maxBuckets = EXP_MAX_BUCKETS): void {
    const other = o.clone();
    const t = Math.max(this.zeroThreshold, other.zeroThreshold);
    this.raiseZeroThreshold(t);
    other.raiseZeroThreshold(t);
    let target = Math.min(this.scale, other.scale);
    const fits = (s: number) =>
      spanAfter([{ b: this.pos, by: this.scale - s }, { b: other.pos, by: other.scale - s }]) <= maxBuckets &&
      spanAfter([{ b: this.neg, by: this.scale - s }, { b: other.neg, by: other.scale - s }]) <= maxBuckets;
    // Scale -10 spans every double in two buckets, so the search ends there at the latest.
    while (target > -10 && !fits(target)) target--;
    this.downscale(this.scale - target);
    other.downscale(other.scale - target);
    this.pos = addBuckets(this.pos, other.pos);
    this.neg = addBuckets(this.neg, other.neg);
    this.count += other.count;
    this.zeroCount += other.zeroCount;
    this.sum = sumPlus(this.sum, other.sum);
    this.min = minOf(this.min, other.min);
    this.max = maxOf(this.max, other.max);
  }

  /**
   * this - earlier, at this point's scale. A cumulative stream only ever lowers its
   * scale, so an earlier point with a smaller scale, another zero threshold, or a
   * count that went down means the stream was reset: null.
   */
  minus(earlier: ExpHist): ExpHist | null {
    if (earlier.scale < this.scale || earlier.zeroThreshold !== this.zeroThreshold) return null;
    if (this.count < earlier.count || this.zeroCount < earlier.zeroCount) return null;
    const e = earlier.clone();
    e.downscale(e.scale - this.scale);
    const pos = minusBuckets(this.pos, e.pos);
    const neg = minusBuckets(this.neg, e.neg);
    if (!pos || !neg) return null;
    return new ExpHist(this.count - e.count, sumMinus(this.sum, e.sum), this.scale, this.zeroCount - e.zeroCount, this.zeroThreshold, pos, neg);
  }

  write(p: Record<string, unknown>): void {
    p.count = this.count;
    if (this.sum) p.sum = this.sum.toNumber();
    p.scale = this.scale;
    p.zeroCount = this.zeroCount;
    p.zeroThreshold = this.zeroThreshold;
    p.positive = { offset: this.pos.offset, bucketCounts: this.pos.counts.slice() };
    p.negative = { offset: this.neg.offset, bucketCounts: this.neg.counts.slice() };
    if (this.min !== undefined) p.min = this.min;
    if (this.max !== undefined) p.max = this.max;
  }
}

// ---------------------------------------------------------------------------
// One interface over the three

export type Value = Exact | Hist | ExpHist;

/** The value of a point, or undefined when it has none (no asInt/asDouble) or its kind has no value (summary). */
export function readValue(kind: MetricKind, p: DataPoint): Value | undefined {
  switch (kind) {
    case 'sum':
    case 'gauge':
      return numberValueOf(p);
    case 'histogram':
      return Hist.read(p);
    case 'exponentialHistogram':
      return ExpHist.read(p);
    default:
      return undefined;
  }
}

/** Whether b can be added to a (histograms: same bounds). */
export function mergeable(a: Value, b: Value): boolean {
  if (a instanceof Hist) return b instanceof Hist && a.sameBounds(b);
  if (a instanceof ExpHist) return b instanceof ExpHist;
  return b instanceof Exact;
}

export function cloneValue<V extends Value>(v: V): V {
  return v.clone() as V;
}

export function addValue(into: Value, v: Value): void {
  if (into instanceof Exact) into.add(v as Exact);
  else if (into instanceof Hist) into.add(v as Hist);
  else into.add(v as ExpHist);
}

/**
 * What a cumulative stream gained from `earlier` to `later`, or null for a reset.
 * A monotonic sum that went down was reset; a non-monotonic one may go down.
 */
export function gained(later: Value, earlier: Value, monotonic: boolean): Value | null {
  if (later instanceof Exact) {
    if (monotonic && later.compare(earlier as Exact) < 0) return null;
    const d = later.clone();
    d.sub(earlier as Exact);
    return d;
  }
  if (later instanceof Hist) return later.minus(earlier as Hist);
  return later.minus(earlier as ExpHist);
}

/** Writes a value into a new data point (asInt/asDouble, or the histogram fields). */
export function writeValue(v: Value, p: Record<string, unknown>): void {
  if (v instanceof Exact) v.writeTo(p);
  else v.write(p);
}

/** DataPointFlags.FLAG_NO_RECORDED_VALUE: a staleness marker without a value. */
export function hasNoRecordedValue(p: DataPoint): boolean {
  return ((p.flags ?? 0) & 1) === 1;
}
