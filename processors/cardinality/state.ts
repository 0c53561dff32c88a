// What the cardinality processor remembers between requests: the series of each
// metric (for the series cap, and the last emitted time so merged series only
// move forward) and the sources of merged cumulative series (each one's last
// value). Everything is forgotten after an idle timeout, least recently seen
// first, and never grows past max_tracked entries of each kind.
import type { KeyValue } from '../../src/otlp/model';
import { AttrSets, GroupIds, pairKey, splitPair } from './ids';
import type { Value } from './values';

/** The OpenTelemetry SDKs' attribute for the series that collects points beyond the cardinality limit. */
export const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';
export const OVERFLOW_KEY = '\u0000overflow';
export const overflowAttrs = (): KeyValue[] => [{ key: OVERFLOW_ATTRIBUTE, value: { boolValue: true } }];

export interface StateOptions {
  maxSeriesPerMetric: number;
  idleMs: number;
  maxTracked: number;
  /** Called when a metric starts overflowing, at most once per metric per idle window. */
  onOverflow?: (metric: string, limit: number) => void;
}

export interface MetricTracker {
  name: string;
  /** Series counted against the limit. */
  live: number;
  /** Series (overflow included) that point at this tracker. */
  refs: number;
  warnedAt: number;
}

/** A stream group: resource, scope and metric. */
export interface Group {
  /** From GroupIds: held while the group has series. */
  id: number;
  tracker: MetricTracker;
  /** Series of the group, overflow included. */
  size: number;
}

/** Every field is set at creation, so a series is one fixed-shape object. */
export interface Series {
  group: Group;
  /** Pair of group id and attribute-set id (see ids.ts). */
  key: number | string;
  overflow: boolean;
  lastSeen: number;
  /** Time of the last point emitted for this series. */
  lastTime: bigint | undefined;
  cum: Cumulative | undefined;
  /** Of a merged summary: the source that owns it, and when it was last seen. */
  summary: { owner: string; seen: number } | undefined;
}

/** A merged cumulative series: its stable start and the running total of its sources. */
export interface Cumulative {
  start: bigint;
  total?: Value;
  /** False while the only source is the unchanged series itself (then points pass as they are). */
  mixed: boolean;
  sources: Map<string, Source>;
}

/** One original series feeding a merged cumulative series. */
export interface Source {
  series: Series;
  key: string;
  start: bigint;
  time: bigint;
  last: Value;
  lastSeen: number;
}

export class SeriesState {
  private readonly groupIds = new GroupIds();
  private readonly groups = new Map<number, Group>();
  private readonly trackers = new Map<string, MetricTracker>();
  /** Merged attribute sets of series (and OVERFLOW_KEY). */
  private readonly attrs = new AttrSets();
  /** Every series by group and attribute-set ids, least recently seen first. */
  private readonly series = new Map<number | string, Series>();
  /** Every cumulative source, least recently seen first. */
  private readonly sourceLru = new Set<Source>();

  constructor(readonly opts: StateOptions) {}

  /** Tracked state, for tests and the memory benchmark. */
  stats(): { series: number; sources: number; groups: number; metrics: number } {
    return { series: this.series.size, sources: this.sourceLru.size, groups: this.groups.size, metrics: this.trackers.size };
  }

  private nextSweep = -Infinity;

  /**
   * Live (not idle) series and sources dropped at max_tracked since the last read: a
   * dropped source that reports again is counted again in its merged total, so the
   * processor counts these and warns.
   */
  readonly evicted = { series: 0, sources: 0 };

  /** Forgets what has been idle longer than the idle timeout, and the oldest state beyond max_tracked. */
  sweep(now: number): void {
    const over = this.sourceLru.size > this.opts.maxTracked || this.series.size > this.opts.maxTracked;
    // Idle expiry needs no finer grain than a tenth of the timeout (at most a second).
    if (now < this.nextSweep && !over) return;
    this.nextSweep = now + Math.min(1000, this.opts.idleMs / 10);
    const cutoff = now - this.opts.idleMs;
    for (const src of this.sourceLru) {
      if (src.lastSeen > cutoff && this.sourceLru.size <= this.opts.maxTracked) break;
      if (src.lastSeen > cutoff) this.evicted.sources++;
      this.dropSource(src);
    }
    for (const s of this.series.values()) {
      if (s.lastSeen > cutoff && this.series.size <= this.opts.maxTracked) break;
      if (s.lastSeen > cutoff) this.evicted.series++;
      this.dropSeries(s);
    }
  }

  /** The group of a resource key and a scope-and-metric key, for a metric named `name`. */
  groupFor(resourceKey: string, familyKey: string, name: string): Group {
    const id = this.groupIds.find(resourceKey, familyKey);
    let g = id === undefined ? undefined : this.groups.get(id);
    if (!g) {
      let t = this.trackers.get(name);
      if (!t) {
        t = { name, live: 0, refs: 0, warnedAt: -Infinity };
        this.trackers.set(name, t);
      }
      g = { id: this.groupIds.acquire(resourceKey, familyKey), tracker: t, size: 0 };
      this.groups.set(g.id, g);
    }
    return g;
  }

  /**
   * The key of a series' merged attributes, for seriesFor(); equal for equal sets.
   * Valid until the end of the request (see AttrSets).
   */
  attrsKeyOf(kvs: readonly KeyValue[]): string {
    return this.attrs.keyOf(kvs);
  }

  /** Ends a request: frees what attrsKeyOf() made for attributes that no series kept. */
  protected endRequest(): void {
    this.attrs.flush();
  }

  /** The series of attributes with key `attrsKey` in a group, or its overflow series for null. */
  private find(g: Group, attrsKey: string | null): Series | undefined {
    const a = this.attrs.findKey(attrsKey ?? OVERFLOW_KEY);
    return a === undefined ? undefined : this.series.get(pairKey(g.id, a));
  }

  /** The series for merged attributes (null: the overflow series), admitting it if the metric has room, else the group's overflow series. */
  seriesFor(g: Group, attrsKey: string | null, now: number, stickyOverflow: () => boolean): Series {
    const found = this.find(g, attrsKey);
    if (found) {
      this.touchSeries(found, now);
      return found;
    }
    const t = g.tracker;
    if (attrsKey !== null && t.live < this.opts.maxSeriesPerMetric && !stickyOverflow()) return this.newSeries(g, attrsKey, now);
    if (t.live >= this.opts.maxSeriesPerMetric && now - t.warnedAt >= this.opts.idleMs) {
      t.warnedAt = now;
      this.opts.onOverflow?.(t.name, this.opts.maxSeriesPerMetric);
    }
    const o = attrsKey !== null ? this.find(g, null) : undefined;
    if (o) {
      this.touchSeries(o, now);
      return o;
    }
    return this.newSeries(g, null, now);
  }

  /** Whether the group's overflow series already counts this cumulative source (its key is computed only then). */
  overflowSourceKnown(g: Group, fullKey: () => string): boolean {
    const sources = this.find(g, null)?.cum?.sources;
    return sources !== undefined && sources.size > 0 && sources.has(fullKey());
  }

  private newSeries(g: Group, attrsKey: string | null, now: number): Series {
    const overflow = attrsKey === null;
    const a = this.attrs.acquireKey(attrsKey ?? OVERFLOW_KEY);
    const s: Series = { group: g, key: pairKey(g.id, a), overflow, lastSeen: now, lastTime: undefined, cum: undefined, summary: undefined };
    this.series.set(s.key, s);
    g.size++;
    g.tracker.refs++;
    if (!overflow) g.tracker.live++;
    return s;
  }

  private touchSeries(s: Series, now: number): void {
    s.lastSeen = now;
    this.series.delete(s.key);
    this.series.set(s.key, s);
  }

  addSource(series: Series, key: string, start: bigint, time: bigint, last: Value, now: number): Source {
    const src: Source = { series, key, start, time, last, lastSeen: now };
    series.cum!.sources.set(key, src);
    this.sourceLru.add(src);
    return src;
  }

  touchSource(src: Source, now: number): void {
    src.lastSeen = now;
    this.sourceLru.delete(src);
    this.sourceLru.add(src);
  }

  /** Forgets a source; its last value stays in the merged total, so the merged series does not dip. */
  dropSource(src: Source): void {
    this.sourceLru.delete(src);
    const cum = src.series.cum;
    if (cum && cum.sources.get(src.key) === src) {
      cum.sources.delete(src.key);
      cum.mixed = true;
    }
  }

  private dropSeries(s: Series): void {
    if (this.series.get(s.key) !== s) return;
    this.series.delete(s.key);
    if (s.cum) for (const src of s.cum.sources.values()) this.sourceLru.delete(src);
    this.attrs.release(splitPair(s.key)[1]);
    const g = s.group;
    if (!s.overflow) g.tracker.live--;
    if (--g.tracker.refs === 0 && this.trackers.get(g.tracker.name) === g.tracker) this.trackers.delete(g.tracker.name);
    if (--g.size === 0) {
      this.groups.delete(g.id);
      this.groupIds.release(g.id);
    }
  }
}
