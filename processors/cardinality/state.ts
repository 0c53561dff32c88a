// What the cardinality processor remembers between requests: the series of each
// metric (for the series cap, and the last emitted time so merged series only
// move forward) and the sources of merged cumulative series (each one's last
// value). Everything is forgotten after an idle timeout, least recently seen
// first, and never grows past max_tracked entries of each kind.
import type { KeyValue } from '../../src/otlp/model';
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

export interface Group {
  key: string;
  tracker: MetricTracker;
  series: Map<string, Series>;
}

export interface Series {
  group: Group;
  key: string;
  overflow: boolean;
  lastSeen: number;
  /** Time of the last point emitted for this series. */
  lastTime?: bigint;
  cum?: Cumulative;
  summaryOwner?: string;
  summaryOwnerSeen?: number;
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
  private readonly groups = new Map<string, Group>();
  private readonly trackers = new Map<string, MetricTracker>();
  /** Every series, least recently seen first. */
  private readonly seriesLru = new Set<Series>();
  /** Every cumulative source, least recently seen first. */
  private readonly sourceLru = new Set<Source>();

  constructor(readonly opts: StateOptions) {}

  /** Tracked state, for tests and the memory benchmark. */
  stats(): { series: number; sources: number; groups: number; metrics: number } {
    return { series: this.seriesLru.size, sources: this.sourceLru.size, groups: this.groups.size, metrics: this.trackers.size };
  }

  private nextSweep = -Infinity;

  /** Forgets what has been idle longer than the idle timeout, and the oldest state beyond max_tracked. */
  sweep(now: number): void {
    const over = this.sourceLru.size > this.opts.maxTracked || this.seriesLru.size > this.opts.maxTracked;
    // Idle expiry needs no finer grain than a tenth of the timeout (at most a second).
    if (now < this.nextSweep && !over) return;
    this.nextSweep = now + Math.min(1000, this.opts.idleMs / 10);
    const cutoff = now - this.opts.idleMs;
    for (const src of this.sourceLru) {
      if (src.lastSeen > cutoff && this.sourceLru.size <= this.opts.maxTracked) break;
      this.dropSource(src);
    }
    for (const s of this.seriesLru) {
      if (s.lastSeen > cutoff && this.seriesLru.size <= this.opts.maxTracked) break;
      this.dropSeries(s);
    }
  }

  groupFor(key: string, name: string): Group {
    let g = this.groups.get(key);
    if (!g) {
      let t = this.trackers.get(name);
      if (!t) {
        t = { name, live: 0, refs: 0, warnedAt: -Infinity };
        this.trackers.set(name, t);
      }
      g = { key, tracker: t, series: new Map() };
      this.groups.set(key, g);
    }
    return g;
  }

  /** The series for merged attributes `key`, admitting it if the metric has room, else the group's overflow series. */
  seriesFor(g: Group, key: string, now: number, stickyOverflow: () => boolean): Series {
    const found = g.series.get(key);
    if (found) {
      this.touchSeries(found, now);
      return found;
    }
    const t = g.tracker;
    if (t.live < this.opts.maxSeriesPerMetric && !stickyOverflow()) return this.newSeries(g, key, false, now);
    if (t.live >= this.opts.maxSeriesPerMetric && now - t.warnedAt >= this.opts.idleMs) {
      t.warnedAt = now;
      this.opts.onOverflow?.(t.name, this.opts.maxSeriesPerMetric);
    }
    const o = g.series.get(OVERFLOW_KEY);
    if (o) {
      this.touchSeries(o, now);
      return o;
    }
    return this.newSeries(g, OVERFLOW_KEY, true, now);
  }

  /** Whether the group's overflow series already counts this cumulative source (its key is computed only then). */
  overflowSourceKnown(g: Group, fullKey: () => string): boolean {
    const sources = g.series.get(OVERFLOW_KEY)?.cum?.sources;
    return sources !== undefined && sources.size > 0 && sources.has(fullKey());
  }

  private newSeries(g: Group, key: string, overflow: boolean, now: number): Series {
    const s: Series = { group: g, key, overflow, lastSeen: now };
    g.series.set(key, s);
    g.tracker.refs++;
    if (!overflow) g.tracker.live++;
    this.seriesLru.add(s);
    return s;
  }

  private touchSeries(s: Series, now: number): void {
    s.lastSeen = now;
    this.seriesLru.delete(s);
    this.seriesLru.add(s);
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
    this.seriesLru.delete(s);
    if (s.cum) for (const src of s.cum.sources.values()) this.sourceLru.delete(src);
    const g = s.group;
    if (g.series.get(s.key) === s) g.series.delete(s.key);
    if (!s.overflow) g.tracker.live--;
    if (--g.tracker.refs === 0 && this.trackers.get(g.tracker.name) === g.tracker) this.trackers.delete(g.tracker.name);
    if (g.series.size === 0 && this.groups.get(g.key) === g) this.groups.delete(g.key);
  }
}
