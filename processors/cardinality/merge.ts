// The cardinality processor's work on one metrics request. See README.md in this
// folder for the behaviour; in short:
//  - strip configured keys from data points and resources;
//  - merge the points that then share resource, scope, metric and attributes
//    (delta: add; cumulative: total of every source's last value, kept across
//    requests; gauge: last/sum/max/min; histograms when bounds agree; exponential
//    histograms at the smaller scale; summaries never);
//  - cap the series of a metric, folding new ones into an overflow series.
import type { DataPoint, KeyValue, Metric, MetricsRequest, Resource, ResourceMetrics, Scope, ScopeMetrics } from '../../src/otlp/model';
import { bigOf, Exact, int64Of } from './exact';
import { attrsKey, kindOf, metricKey, resourceKey, scopeKey, TEMPORALITY_CUMULATIVE, temporalityOf, type MetricKind } from './keys';
import { stripAttributes, type StripRules, type StripSet } from './rules';
import { addValue, cloneValue, gained, hasNoRecordedValue, Hist, mergeable, readValue, writeValue, type Value } from './values';
import { overflowAttrs, SeriesState, type Cumulative, type Group, type Series, type Source, type StateOptions } from './state';

/**
 * Emitted times of a merged series only move forward, by at least this much:
 * Prometheus-family backends store milliseconds and refuse a second, different
 * sample at the same millisecond, and a delta-to-cumulative step downstream drops
 * points whose window starts before the previous one ended.
 */
const MIN_STEP_NS = 1_000_000n;
const MAX_EXEMPLARS = 10;

export interface EngineOptions extends StateOptions {
  rules: StripRules;
}

export interface BatchCounts {
  pointsIn: number;
  pointsOut: number;
  overflow: number;
  unmergedSummary: number;
  unmergedHistogramBounds: number;
  outOfOrder: number;
  duplicate: number;
}

interface ResView {
  rm: ResourceMetrics;
  resource: Resource | null | undefined;
  key: string;
  /** Key of the removed resource attributes ('' when none). */
  removed: string;
  origKey?: string;
}

interface Item {
  p: DataPoint;
  /** The source's identity within its merged series. */
  origKey: string;
  /** Nothing was removed: the point is its own series. */
  plain: boolean;
  view: ResView;
  metric: Metric;
  time: bigint;
  start: bigint;
}

interface Acc {
  series: Series;
  attrs: KeyValue[];
  items: Item[];
}

interface OutMetric {
  template: Metric;
  kind: MetricKind;
  scope: Scope | null | undefined;
  scopeSchemaUrl?: string;
  scopeKey: string;
  metricKey: string;
  set: StripSet;
  /** Scope and metric identity: with the resource key, the metric's stream group. */
  familyKey?: string;
  /** Created with the metric's first point, so metrics without points leave no state. */
  group?: Group;
  points: DataPoint[];
  accs: Map<string, Acc>;
  accList: Acc[];
  overflowAcc?: Acc;
  dataless: boolean;
}

interface OutScope {
  scope: Scope | null | undefined;
  schemaUrl?: string;
  metrics: Map<string, OutMetric>;
}

interface OutResource {
  resource: Resource | null | undefined;
  schemaUrl?: string;
  scopes: Map<string, OutScope>;
}

const cmpBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** The processor's state and its work on each request. */
export class CardinalityEngine extends SeriesState {
  constructor(override readonly opts: EngineOptions) {
    super(opts);
  }

  /**
   * Processes one request. Returns the new request, or null when the request needs
   * no change (it may then be forwarded with its original bytes).
   */
  process(req: MetricsRequest, now: number, counts: BatchCounts): MetricsRequest | null {
    this.sweep(now);
    const run = new Run(this, now, counts);
    try {
      for (const rm of req.resourceMetrics ?? []) run.addResource(rm);
      const out = run.finish();
      this.sweep(now);
      return out;
    } finally {
      this.endRequest();
    }
  }
}

/** The work on one request. */
class Run {
  private readonly resources = new Map<string, OutResource>();
  private readonly metrics: OutMetric[] = [];
  private pointsIn = 0;
  private pointsOut = 0;
  /** Points emitted as the very same object, under an unchanged resource. */
  private reused = 0;
  private resourceChanged = false;

  constructor(private readonly engine: CardinalityEngine, private readonly now: number, private readonly counts: BatchCounts) {}

  private get opts(): EngineOptions {
    return this.engine.opts;
  }

  addResource(rm: ResourceMetrics): void {
    const views = new Map<StripSet, ResView>();
    for (const sm of rm.scopeMetrics ?? []) {
      const scKey = scopeKey(sm.scope, sm.schemaUrl);
      for (const metric of sm.metrics ?? []) {
        const kind = kindOf(metric);
        const set = this.opts.rules.setFor(rm.resource, sm.scope, metric);
        let view = views.get(set);
        if (!view) {
          view = this.view(rm, set);
          views.set(set, view);
        }
        if (!kind) {
          const om = this.outMetric(view, view.key, view.resource, scKey, sm.scope, sm.schemaUrl, JSON.stringify(['', metric.name ?? '']), metric, 'gauge', set);
          om.dataless = true;
          continue;
        }
        const mKey = metricKey(metric, kind);
        const om = this.outMetric(view, view.key, view.resource, scKey, sm.scope, sm.schemaUrl, mKey, metric, kind, set);
        om.familyKey ??= scKey + '\u0001' + mKey;
        for (const p of (metric[kind] as { dataPoints?: DataPoint[] }).dataPoints ?? []) this.place(om, kind, p, view, metric);
      }
    }
  }

  private view(rm: ResourceMetrics, set: StripSet): ResView {
    const { kept, removed } = stripAttributes(rm.resource?.attributes, set.resource);
    if (removed === '') return { rm, resource: rm.resource, key: resourceKey(rm.resource, rm.schemaUrl), removed };
    this.resourceChanged = true;
    const resource: Resource = { attributes: kept };
    if (rm.resource?.droppedAttributesCount) resource.droppedAttributesCount = rm.resource.droppedAttributesCount;
    return { rm, resource, key: resourceKey(resource, rm.schemaUrl), removed };
  }

  private outMetric(
    view: ResView,
    resKey: string,
    resource: Resource | null | undefined,
    scKey: string,
    scope: Scope | null | undefined,
    scopeSchemaUrl: string | undefined,
    mKey: string,
    metric: Metric,
    kind: MetricKind,
    set: StripSet,
  ): OutMetric {
    let r = this.resources.get(resKey);
    if (!r) {
      r = { resource, schemaUrl: view.rm.schemaUrl, scopes: new Map() };
      this.resources.set(resKey, r);
    }
    let sc = r.scopes.get(scKey);
    if (!sc) {
      sc = { scope, schemaUrl: scopeSchemaUrl, metrics: new Map() };
      r.scopes.set(scKey, sc);
    }
    let om = sc.metrics.get(mKey);
    if (!om) {
      om = { template: metric, kind, scope, scopeSchemaUrl, scopeKey: scKey, metricKey: mKey, set, points: [], accs: new Map(), accList: [], dataless: false };
      sc.metrics.set(mKey, om);
      this.metrics.push(om);
    }
    return om;
  }

  private place(om: OutMetric, kind: MetricKind, p: DataPoint, view: ResView, metric: Metric): void {
    this.pointsIn++;
    const { kept, removed } = stripAttributes(p.attributes, om.set.point);
    const ak = this.engine.attrsKeyOf(kept);
    const cumulative = temporalityOf(metric, kind) === TEMPORALITY_CUMULATIVE && kind !== 'summary';
    const g = (om.group ??= this.engine.groupFor(view.key, om.familyKey!, metric.name ?? ''));
    const fullKey = () => attrsKey(p.attributes) + '|' + view.removed;
    let acc = om.accs.get(ak);
    // A cumulative source already counted in the overflow series stays there, or its total would be counted twice.
    if (acc && !acc.series.overflow && cumulative && this.engine.overflowSourceKnown(g, fullKey)) acc = this.overflowAcc(om, g);
    if (!acc) {
      const series = this.engine.seriesFor(g, ak, this.now, () => cumulative && this.engine.overflowSourceKnown(g, fullKey));
      acc = series.overflow ? this.overflowAcc(om, g, series) : { series, attrs: kept, items: [] };
      if (!series.overflow) om.accList.push(acc);
      om.accs.set(ak, acc);
    }
    if (acc.series.overflow) this.counts.overflow++;
    const overflow = acc.series.overflow;
    acc.items.push({
      p,
      origKey: overflow ? fullKey() : removed + '|' + view.removed,
      plain: !overflow && removed === '' && view.removed === '',
      view,
      metric,
      time: bigOf(p.timeUnixNano),
      start: bigOf(p.startTimeUnixNano),
    });
  }

  private overflowAcc(om: OutMetric, g: Group, series?: Series): Acc {
    if (!om.overflowAcc) {
      const s = series ?? this.engine.seriesFor(g, null, this.now, () => false);
      om.overflowAcc = { series: s, attrs: overflowAttrs(), items: [] };
      om.accList.push(om.overflowAcc);
    }
    return om.overflowAcc;
  }

  finish(): MetricsRequest | null {
    for (const om of this.metrics) {
      for (const acc of om.accList) {
        if (acc.items.length === 0) continue;
        const t = temporalityOf(acc.items[0].metric, om.kind);
        if (om.kind === 'summary') this.emitSummary(om, acc);
        else if (om.kind === 'gauge') this.emitGauge(om, acc);
        else if (t === TEMPORALITY_CUMULATIVE) this.emitCumulative(om, acc);
        else this.emitDelta(om, acc);
      }
    }
    this.counts.pointsIn += this.pointsIn;
    this.counts.pointsOut += this.pointsOut;
    if (!this.resourceChanged && this.pointsOut === this.pointsIn && this.reused === this.pointsOut) return null;
    return this.build();
  }

  // -------------------------------------------------------------------------
  // Emission

  private emit(om: OutMetric, p: DataPoint, original: boolean): void {
    om.points.push(p);
    this.pointsOut++;
    if (original) this.reused++;
  }

  /** Emits a point as it came, under its original resource: it cannot be merged. */
  private keepApart(om: OutMetric, it: Item): void {
    const v = it.view;
    v.origKey ??= resourceKey(v.rm.resource, v.rm.schemaUrl);
    const target = this.outMetric(v, v.origKey, v.rm.resource, om.scopeKey, om.scope, om.scopeSchemaUrl, om.metricKey, om.template, om.kind, om.set);
    this.emit(target, it.p, true);
  }

  /**
   * Moves the time past the last point emitted for the series; for delta points the
   * start too, so that windows never overlap.
   */
  private forward(s: Series, start: bigint, time: bigint, moveStart: boolean): [bigint, bigint] {
    const last = s.lastTime;
    if (last !== undefined) {
      if (moveStart && start < last) start = last;
      if (time < last + MIN_STEP_NS) time = last + MIN_STEP_NS;
    }
    s.lastTime = time;
    return [start, time];
  }

  /** Whether a plain point can go out as it is: its time moves the series forward. */
  private passes(s: Series, it: Item, delta: boolean): boolean {
    const last = s.lastTime;
    if (last !== undefined && (it.time < last + MIN_STEP_NS || (delta && it.start < last))) return false;
    s.lastTime = it.time;
    return true;
  }

  private newPoint(attrs: KeyValue[], start: bigint, time: bigint, from: Item[]): Record<string, unknown> {
    const exemplars: unknown[] = [];
    for (const it of from) {
      const ex = it.p.exemplars as unknown[] | undefined;
      if (!ex) continue;
      for (const e of ex) {
        if (exemplars.length >= MAX_EXEMPLARS) break;
        exemplars.push(e);
      }
    }
    const p: Record<string, unknown> = { attributes: attrs, timeUnixNano: int64Of(time, true), exemplars };
    if (start !== 0n) p.startTimeUnixNano = int64Of(start, true);
    return p;
  }

  /** Points without a recorded value (staleness markers): one marker for the merged series. */
  private emitMarkers(om: OutMetric, acc: Acc, items: Item[]): void {
    if (items.length === 1 && items[0].plain && this.passes(acc.series, items[0], false)) return this.emit(om, items[0].p, true);
    let time = 0n;
    for (const it of items) if (it.time > time) time = it.time;
    const [, t] = this.forward(acc.series, 0n, time, false);
    const p = this.newPoint(acc.attrs, 0n, t, []);
    p.flags = 1;
    this.emit(om, p as DataPoint, false);
  }

  private emitDelta(om: OutMetric, acc: Acc): void {
    let items = acc.items;
    if (om.kind === 'histogram') items = this.splitBounds(om, items);
    const valued: { it: Item; v: Value }[] = [];
    for (const it of items) {
      if (hasNoRecordedValue(it.p)) continue;
      const v = readValue(om.kind, it.p);
      if (v) valued.push({ it, v });
    }
    if (valued.length === 0) return this.emitMarkers(om, acc, items);
    if (items.length === 1 && valued[0].it.plain && this.passes(acc.series, valued[0].it, true)) return this.emit(om, valued[0].it.p, true);
    const total = cloneValue(valued[0].v);
    let start = valued[0].it.start;
    let time = valued[0].it.time;
    for (let i = 1; i < valued.length; i++) {
      addValue(total, valued[i].v);
      if (valued[i].it.start < start) start = valued[i].it.start;
      if (valued[i].it.time > time) time = valued[i].it.time;
    }
    [start, time] = this.forward(acc.series, start, time, true);
    const p = this.newPoint(acc.attrs, start, time, valued.map((x) => x.it));
    writeValue(total, p);
    this.emit(om, p as DataPoint, false);
  }

  /** Histogram points whose bounds differ from the first point's are kept apart. */
  private splitBounds(om: OutMetric, items: Item[]): Item[] {
    if (items.length < 2) return items;
    const first = Hist.read(items[0].p);
    const same: Item[] = [items[0]];
    for (let i = 1; i < items.length; i++) {
      if (Hist.read(items[i].p).sameBounds(first)) same.push(items[i]);
      else {
        this.counts.unmergedHistogramBounds++;
        this.keepApart(om, items[i]);
      }
    }
    return same;
  }

  private emitGauge(om: OutMetric, acc: Acc): void {
    const valued: { it: Item; v: Exact }[] = [];
    for (const it of acc.items) {
      if (hasNoRecordedValue(it.p)) continue;
      const v = readValue('gauge', it.p) as Exact | undefined;
      if (v) valued.push({ it, v });
    }
    if (valued.length === 0) return this.emitMarkers(om, acc, acc.items);
    if (acc.items.length === 1 && valued[0].it.plain && this.passes(acc.series, valued[0].it, false)) return this.emit(om, valued[0].it.p, true);
    let chosen = valued[0];
    let total: Exact | undefined;
    let start = valued[0].it.start;
    let time = valued[0].it.time;
    for (let i = 0; i < valued.length; i++) {
      const x = valued[i];
      if (x.it.time > time) time = x.it.time;
      if (x.it.start < start) start = x.it.start;
      if (i === 0) continue;
      switch (om.set.gauge) {
        case 'last':
          if (x.it.time >= chosen.it.time) chosen = x;
          break;
        case 'max':
          if (x.v.compare(chosen.v) > 0) chosen = x;
          break;
        case 'min':
          if (x.v.compare(chosen.v) < 0) chosen = x;
          break;
        case 'sum':
          total ??= chosen.v.clone();
          total.add(x.v);
          break;
      }
    }
    if (om.set.gauge === 'last') start = chosen.it.start;
    [start, time] = this.forward(acc.series, start, time, false);
    const p = this.newPoint(acc.attrs, start, time, om.set.gauge === 'sum' ? valued.map((x) => x.it) : [chosen.it]);
    (total ?? chosen.v).writeTo(p);
    this.emit(om, p as DataPoint, false);
  }

  private emitSummary(om: OutMetric, acc: Acc): void {
    const s = acc.series;
    // The first source to use the merged series owns it while it keeps reporting; others keep their own attributes.
    if (s.summary === undefined) s.summary = { owner: acc.items[0].origKey, seen: 0 };
    else if (this.now - s.summary.seen > this.opts.idleMs) s.summary.owner = acc.items[0].origKey;
    for (const it of acc.items) {
      if (it.origKey !== s.summary.owner) {
        this.counts.unmergedSummary++;
        this.keepApart(om, it);
        continue;
      }
      s.summary.seen = this.now;
      if (it.plain && this.passes(s, it, false)) {
        this.emit(om, it.p, true);
        continue;
      }
      const [start, time] = this.forward(s, it.start, it.time, false);
      const p: Record<string, unknown> = { attributes: acc.attrs, timeUnixNano: int64Of(time, true), count: it.p.count, sum: it.p.sum, quantileValues: it.p.quantileValues };
      if (start !== 0n) p.startTimeUnixNano = int64Of(start, true);
      if (it.p.flags) p.flags = it.p.flags;
      this.emit(om, p as DataPoint, false);
    }
  }

  private emitCumulative(om: OutMetric, acc: Acc): void {
    const s = acc.series;
    const monotonic = om.kind !== 'sum' || (om.template.sum?.isMonotonic ?? false);
    const items = acc.items.length > 1 ? acc.items.slice().sort((a, b) => cmpBig(a.time, b.time)) : acc.items;
    let accepted = 0;
    let last: Item | undefined;
    let maxTime = 0n;
    const markers: Item[] = [];
    for (const it of items) {
      const cum: Cumulative = (s.cum ??= { start: it.start, mixed: false, sources: new Map<string, Source>() });
      let src = cum.sources.get(it.origKey);
      if (hasNoRecordedValue(it.p)) {
        // The source says it ended: forget it, keeping its last value in the total.
        if (src) this.engine.dropSource(src);
        markers.push(it);
        continue;
      }
      const v = readValue(om.kind, it.p);
      if (!v) continue;
      if (cum.total && !mergeable(cum.total, v)) {
        this.counts.unmergedHistogramBounds++;
        this.keepApart(om, it);
        continue;
      }
      if (!it.plain || (cum.sources.size > 0 && !src)) cum.mixed = true;
      if (!src) {
        if (cum.total === undefined) {
          cum.total = cloneValue(v);
          cum.start = it.start;
        } else {
          addValue(cum.total, v);
        }
        src = this.engine.addSource(s, it.origKey, it.start, it.time, v, this.now);
      } else {
        this.engine.touchSource(src, this.now);
        if (it.time < src.time) {
          this.counts.outOfOrder++;
          continue;
        }
        if (it.time === src.time) {
          this.counts.duplicate++;
          continue;
        }
        const d = it.start === src.start ? gained(v, src.last, monotonic) : null;
        if (d !== null) addValue(cum.total!, d);
        else if (cum.mixed) addValue(cum.total!, v); // a reset: the source starts again from zero, the total goes on
        else {
          cum.total = cloneValue(v);
          cum.start = it.start;
        }
        src.start = it.start;
        src.time = it.time;
        src.last = v;
      }
      accepted++;
      last = it;
      if (it.time > maxTime) maxTime = it.time;
    }
    const cum = s.cum;
    if (accepted === 0 || !cum?.total) {
      if (markers.length && (!cum || cum.sources.size === 0)) {
        // Every source has ended, so has the merged series: a source that comes back starts it anew.
        s.cum = undefined;
        this.emitMarkers(om, acc, markers);
      }
      return;
    }
    if (!cum.mixed && accepted === 1 && last!.plain && this.passes(s, last!, false)) return this.emit(om, last!.p, true);
    const [, time] = this.forward(s, cum.start, maxTime, false);
    const p = this.newPoint(acc.attrs, cum.start, time, last ? [last] : []);
    writeValue(cum.total, p);
    this.emit(om, p as DataPoint, false);
  }

  // -------------------------------------------------------------------------

  private build(): MetricsRequest {
    const resourceMetrics: ResourceMetrics[] = [];
    for (const r of this.resources.values()) {
      const scopeMetrics: ScopeMetrics[] = [];
      for (const sc of r.scopes.values()) {
        const metrics: Metric[] = [];
        for (const om of sc.metrics.values()) {
          if (om.dataless) {
            metrics.push(om.template);
            continue;
          }
          if (om.points.length === 0) continue;
          const t = om.template;
          const m: Metric = { name: t.name };
          if (t.description) m.description = t.description;
          if (t.unit) m.unit = t.unit;
          if (t.metadata?.length) m.metadata = t.metadata;
          const data = t[om.kind] as Record<string, unknown>;
          const d: Record<string, unknown> = { dataPoints: om.points };
          if (data.aggregationTemporality !== undefined) d.aggregationTemporality = data.aggregationTemporality;
          if (data.isMonotonic !== undefined) d.isMonotonic = data.isMonotonic;
          (m as Record<string, unknown>)[om.kind] = d;
          metrics.push(m);
        }
        if (metrics.length) {
          const out: ScopeMetrics = { scope: sc.scope, metrics };
          if (sc.schemaUrl) out.schemaUrl = sc.schemaUrl;
          scopeMetrics.push(out);
        }
      }
      if (scopeMetrics.length) {
        const out: ResourceMetrics = { resource: r.resource, scopeMetrics };
        if (r.schemaUrl) out.schemaUrl = r.schemaUrl;
        resourceMetrics.push(out);
      }
    }
    return { resourceMetrics };
  }
}
