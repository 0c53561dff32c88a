// What the temporality processors share: per-stream state, and walking a request's
// metrics. State is keyed by (resource, scope, metric) and then by point attributes,
// so the long resource key is held once per group and not once per stream. Least
// recently seen first; entries idle for longer than `idleMs` are forgotten, and a
// full table takes no new stream (as the Collector's deltatocumulative does:
// evicting live streams would reset them).
import type { DataPoint, KeyValue, MetricsRequest, Metric } from '../../src/otlp/model';
import { attrsKey, kindOf, metricKey, resourceKey, scopeKey, type MetricKind } from './keys';

interface Entry<V> {
  group: Map<string, Entry<V>>;
  groupKey: string;
  key: string;
  value: V;
  lastSeen: number;
}

export class StreamTable<V> {
  private readonly groups = new Map<string, Map<string, Entry<V>>>();
  private readonly lru = new Set<Entry<V>>();

  constructor(private readonly idleMs: number, private readonly max: number) {}

  get size(): number {
    return this.lru.size;
  }

  /** The state of a stream, marking it seen. */
  get(groupKey: string, attrs: readonly KeyValue[], now: number): V | undefined {
    const e = this.groups.get(groupKey)?.get(attrsKey(attrs));
    if (!e) return undefined;
    e.lastSeen = now;
    this.lru.delete(e);
    this.lru.add(e);
    return e.value;
  }

  /** Adds a stream; false when the table is full of live streams. */
  add(groupKey: string, attrs: readonly KeyValue[], value: V, now: number): boolean {
    if (this.lru.size >= this.max) this.sweep(now, true);
    if (this.lru.size >= this.max) return false;
    let group = this.groups.get(groupKey);
    if (!group) {
      group = new Map();
      this.groups.set(groupKey, group);
    }
    const key = attrsKey(attrs);
    const old = group.get(key);
    if (old) this.lru.delete(old);
    const e: Entry<V> = { group, groupKey, key, value, lastSeen: now };
    group.set(key, e);
    this.lru.add(e);
    return true;
  }

  delete(groupKey: string, attrs: readonly KeyValue[]): void {
    const group = this.groups.get(groupKey);
    const e = group?.get(attrsKey(attrs));
    if (e) this.remove(e);
  }

  private nextSweep = -Infinity;

  /** Forgets streams idle for longer than the idle time (checked at most every tenth of it, or second). */
  sweep(now: number, force = false): void {
    if (now < this.nextSweep && !force) return;
    this.nextSweep = now + Math.min(1000, this.idleMs / 10);
    const cutoff = now - this.idleMs;
    for (const e of this.lru) {
      if (e.lastSeen > cutoff) break;
      this.remove(e);
    }
  }

  private remove(e: Entry<V>): void {
    this.lru.delete(e);
    if (e.group.get(e.key) === e) e.group.delete(e.key);
    if (e.group.size === 0 && this.groups.get(e.groupKey) === e.group) this.groups.delete(e.groupKey);
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
