// What the temporality processors share: per-stream state, and walking a request's
// metrics. A stream is its group (resource, scope and metric) and its point
// attributes; both long keys are held once however many streams share them (see
// ids.ts), and streams are found by a pair of small ids in one map, which is also
// the recency order (least recently seen first). Entries idle for longer than
// `idleMs` are forgotten, and a full table takes no new stream (as the Collector's
// deltatocumulative does: evicting live streams would reset them).
import type { DataPoint, KeyValue, MetricsRequest, Metric } from '../../src/otlp/model';
import { AttrSets, GroupIds, pairKey, splitPair } from './ids';
import { kindOf, metricKey, resourceKey, scopeKey, type MetricKind } from './keys';

interface Entry<V> {
  key: number | string;
  value: V;
  lastSeen: number;
}

/** Splits a key of forEachMetric at its first separator: resource key, then scope and metric (JSON escapes U+0001 in both). */
function splitGroupKey(groupKey: string): [string, string] {
  const at = groupKey.indexOf('\u0001');
  return at < 0 ? [groupKey, ''] : [groupKey.slice(0, at), groupKey.slice(at + 1)];
}

export class StreamTable<V> {
  private readonly groups = new GroupIds();
  private readonly attrs = new AttrSets();
  private readonly streams = new Map<number | string, Entry<V>>();
  /** The group of the last key looked up: one metric's points come one after another. */
  private lastGroupKey: string | undefined;
  private lastGroup: number | undefined;
  /** The attributes get() last looked up and their key, for an add() of the same stream right after. */
  private lastAttrs: readonly KeyValue[] | undefined;
  private lastAttrsKey: string | undefined;

  constructor(private readonly idleMs: number, private readonly max: number) {}

  get size(): number {
    return this.streams.size;
  }

  private findGroup(groupKey: string): number | undefined {
    if (groupKey !== this.lastGroupKey) {
      const [r, f] = splitGroupKey(groupKey);
      this.lastGroup = this.groups.find(r, f);
      this.lastGroupKey = groupKey;
    }
    return this.lastGroup;
  }

  private find(groupKey: string, attrsKey: string | undefined): Entry<V> | undefined {
    if (attrsKey === undefined) return undefined;
    const g = this.findGroup(groupKey);
    if (g === undefined) return undefined;
    const a = this.attrs.findKey(attrsKey);
    return a === undefined ? undefined : this.streams.get(pairKey(g, a));
  }

  /** The state of a stream, marking it seen. */
  get(groupKey: string, attrs: readonly KeyValue[], now: number): V | undefined {
    this.lastAttrs = attrs;
    this.lastAttrsKey = this.attrs.heldKeyOf(attrs);
    const e = this.find(groupKey, this.lastAttrsKey);
    if (!e) return undefined;
    e.lastSeen = now;
    this.streams.delete(e.key);
    this.streams.set(e.key, e);
    return e.value;
  }

  /** Adds a stream; false when the table is full of live streams. */
  add(groupKey: string, attrs: readonly KeyValue[], value: V, now: number): boolean {
    let held = attrs === this.lastAttrs ? this.lastAttrsKey : this.attrs.heldKeyOf(attrs);
    this.lastAttrs = undefined;
    if (this.streams.size >= this.max) {
      this.sweep(now, true);
      // The sweep may have freed ids that the key names.
      held = this.attrs.heldKeyOf(attrs);
    }
    if (this.streams.size >= this.max) return false;
    const old = this.find(groupKey, held);
    if (old) {
      this.remove(old);
      held = this.attrs.heldKeyOf(attrs);
    }
    const a = this.attrs.acquireKey(held ?? this.attrs.keyOf(attrs));
    this.attrs.flush();
    let g: number;
    if (groupKey === this.lastGroupKey && this.lastGroup !== undefined) g = this.groups.retain(this.lastGroup);
    else {
      const [r, f] = splitGroupKey(groupKey);
      g = this.groups.acquire(r, f);
      this.lastGroupKey = groupKey;
      this.lastGroup = g;
    }
    const e: Entry<V> = { key: pairKey(g, a), value, lastSeen: now };
    this.streams.set(e.key, e);
    return true;
  }

  delete(groupKey: string, attrs: readonly KeyValue[]): void {
    this.lastAttrs = undefined;
    const e = this.find(groupKey, this.attrs.heldKeyOf(attrs));
    if (e) this.remove(e);
  }

  private nextSweep = -Infinity;

  /** Forgets streams idle for longer than the idle time (checked at most every tenth of it, or second). */
  sweep(now: number, force = false): void {
    if (now < this.nextSweep && !force) return;
    this.nextSweep = now + Math.min(1000, this.idleMs / 10);
    const cutoff = now - this.idleMs;
    for (const e of this.streams.values()) {
      if (e.lastSeen > cutoff) break;
      this.remove(e);
    }
  }

  private remove(e: Entry<V>): void {
    this.lastAttrs = undefined;
    this.streams.delete(e.key);
    const [g, a] = splitPair(e.key);
    this.attrs.release(a);
    if (this.groups.release(g)) this.lastGroupKey = undefined;
  }
}

/**
 * Calls fn for every metric with data, with the key of its stream group (resource,
 * scope and metric identity; a stream is that plus the point attributes).
 */
export function forEachMetric(req: MetricsRequest, fn: (groupKey: () => string, m: Metric, kind: MetricKind) => void): void {
  for (const rm of req.resourceMetrics ?? []) {
    let rk: string | undefined;
    for (const sm of rm.scopeMetrics ?? []) {
      let sk: string | undefined;
      for (const m of sm.metrics ?? []) {
        const kind = kindOf(m);
        if (!kind) continue;
        fn(() => (rk ??= resourceKey(rm.resource, rm.schemaUrl)) + '\u0001' + (sk ??= scopeKey(sm.scope, sm.schemaUrl)) + '\u0001' + metricKey(m, kind), m, kind);
      }
    }
  }
}

/** Removes metrics left without points, then scopes and resources left without metrics. */
export function pruneEmpty(req: MetricsRequest): void {
  const hasPoints = (m: Metric) => {
    const kind = kindOf(m);
    return kind !== undefined && ((m[kind] as { dataPoints?: unknown[] }).dataPoints?.length ?? 0) > 0;
  };
  req.resourceMetrics = (req.resourceMetrics ?? []).filter((rm) => {
    rm.scopeMetrics = (rm.scopeMetrics ?? []).filter((sm) => {
      sm.metrics = (sm.metrics ?? []).filter((m) => !kindOf(m) || hasPoints(m));
      return sm.metrics.length > 0;
    });
    return rm.scopeMetrics.length > 0;
  });
}

/** A new point with the identity fields of p (no value). */
export function copyBase(p: DataPoint): Record<string, unknown> {
  const q: Record<string, unknown> = { attributes: p.attributes ?? [], timeUnixNano: p.timeUnixNano };
  if (p.startTimeUnixNano !== undefined) q.startTimeUnixNano = p.startTimeUnixNano;
  if (Array.isArray(p.exemplars) && p.exemplars.length) q.exemplars = p.exemplars;
  return q;
}
