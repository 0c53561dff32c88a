// The cardinality processor on recorded agent metrics and on crafted points with
// known answers: stripping, merging of every metric type, the series cap, and the
// bounds on its state.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cardinalityProcessor, createEngine, zeroCounts } from './index';
import { Exact } from './exact';
import { Batch } from '../../src/otlp/batch';
import type { MetricsRequest } from '../../src/otlp/model';
import type { Issue } from '../../src/config/schema';
import { attr, clone, fixtureJson, flatten, harness, keyOf, metricsBatch, ns, numberOf, seriesOf, setAttr, type FlatPoint, type Json } from './testing';

const STRIPPED_POINT = new Set(['prompt.id', 'prompt_id', 'session.id', 'installation.id']);
const STRIPPED_RESOURCE = new Set(['session.id', 'installation.id', 'process.pid']);

/** The identity a point has once the default keys are gone (what the output must be keyed by). */
function expectedSeries(f: FlatPoint): string {
  return seriesOf({
    ...f,
    resource: f.resource.filter((a) => !STRIPPED_RESOURCE.has(a.key)),
    point: { ...f.point, attributes: (f.point.attributes ?? []).filter((a: Json) => !STRIPPED_POINT.has(a.key)) },
  });
}

function exactOf(points: Json[]): Exact {
  const e = new Exact();
  for (const p of points) {
    if (p.asInt !== undefined) e.addInt(BigInt(p.asInt));
    else e.addDouble(Number(p.asDouble));
  }
  return e;
}

/** One recorded request replayed as session `i`: fresh session.id, installation.id and pid, and a prompt.id on every point. */
function asSession(req: Json, i: number, prompts = 3): Json {
  const r = clone(req);
  for (const rm of r.resourceMetrics) {
    const ra = rm.resource?.attributes ?? [];
    if (attr(ra, 'session.id') !== undefined) setAttr(ra, 'session.id', { stringValue: `session-${i}` });
    if (attr(ra, 'process.pid') !== undefined) setAttr(ra, 'process.pid', { intValue: 1000 + i });
    let n = 0;
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        for (const kind of ['sum', 'histogram', 'gauge'])
          for (const p of m[kind]?.dataPoints ?? []) {
            if (attr(p.attributes, 'session.id') !== undefined) setAttr(p.attributes, 'session.id', { stringValue: `session-${i}` });
            if (attr(p.attributes, 'installation.id') !== undefined) setAttr(p.attributes, 'installation.id', { stringValue: `install-${i}` });
            p.attributes.push({ key: 'prompt.id', value: { stringValue: `prompt-${i}-${n++ % prompts}` } });
          }
  }
  return r;
}

const join = (reqs: Json[]): Json => ({ resourceMetrics: reqs.flatMap((r) => r.resourceMetrics) });

test('Claude Code: 300 sessions in one request become one point per remaining series, each the exact sum', async () => {
  const names = ['claude-code/tool-call/02-metrics.json', 'claude-code/tool-call-2/02-metrics.json', 'claude-code/protobuf/02-metrics.pb'];
  const sessions = Array.from({ length: 300 }, (_, i) => asSession(fixtureJson(names[i % 3]), i));
  const input = join(sessions);
  const { p, json, telemetry } = harness(cardinalityProcessor, {});
  await p.consume(metricsBatch(input));
  const inPts = flatten([input]);
  const outPts = flatten(json());

  const expected = new Map<string, Json[]>();
  for (const f of inPts) expected.set(expectedSeries(f), [...(expected.get(expectedSeries(f)) ?? []), f.point]);
  const got = new Map<string, Json>();
  for (const f of outPts) {
    const k = seriesOf(f);
    assert.ok(!got.has(k), `two points for one series: ${k}`);
    got.set(k, f.point);
    for (const a of f.point.attributes) assert.ok(!STRIPPED_POINT.has(a.key), `${a.key} left on ${f.name}`);
  }
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
  assert.ok(got.size < 40, `${got.size} series for 300 sessions`);
  for (const [k, pts] of expected) {
    const want = exactOf(pts);
    assert.equal(numberOf(got.get(k)!), want.isDouble ? want.toNumber() : want.toBigInt(), k);
  }
  assert.equal(telemetry.total('processor_dropped_items', { reason: 'merged' }), inPts.length - outPts.length);
});

test('delta: the same merged series in later requests gets windows that never overlap, and nothing is lost', async () => {
  const { p, json } = harness(cardinalityProcessor, {});
  const t0 = 1_700_000_000_000;
  const point = (session: string, from: number, to: number, v: number) => ({
    resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'tokens', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [
      { attributes: [{ key: 'session.id', value: { stringValue: session } }, { key: 'type', value: { stringValue: 'input' } }], startTimeUnixNano: ns(from), timeUnixNano: ns(to), asInt: v },
    ] } }] }] }],
  });
  // Two sessions whose windows overlap, arriving in separate requests, in either order.
  await p.consume(metricsBatch(point('a', t0, t0 + 10_000, 5)));
  await p.consume(metricsBatch(point('b', t0 + 2_000, t0 + 8_000, 7)));
  await p.consume(metricsBatch(point('a', t0 + 10_000, t0 + 20_000, 11)));
  const out = flatten(json()).map((f) => f.point);
  assert.equal(out.length, 3);
  assert.deepEqual(out.map((x) => Number(x.asInt)), [5, 7, 11]);
  for (let i = 1; i < out.length; i++) {
    assert.ok(BigInt(out[i].startTimeUnixNano) >= BigInt(out[i - 1].timeUnixNano), 'window starts where the previous ended');
    assert.ok(BigInt(out[i].timeUnixNano) >= BigInt(out[i - 1].timeUnixNano) + 1_000_000n, 'at least 1 ms later');
    assert.ok(BigInt(out[i].startTimeUnixNano) < BigInt(out[i].timeUnixNano));
  }
  assert.equal(attr(out[0].attributes, 'session.id'), undefined);
});

/** Gemini CLI's cumulative export number `k` of a session: every count scaled by k, as a session that keeps working. */
function geminiExport(base: Json, session: number, k: number, t: number): Json {
  const r = asSession(base, session, 1);
  for (const rm of r.resourceMetrics)
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics) {
        for (const p of m.sum?.dataPoints ?? []) {
          p.asInt = String(BigInt(p.asInt) * BigInt(k));
          p.timeUnixNano = ns(t);
        }
        for (const p of m.histogram?.dataPoints ?? []) {
          p.count = String(BigInt(p.count) * BigInt(k));
          p.sum = p.sum * k;
          p.bucketCounts = p.bucketCounts.map((c: string | number) => String(BigInt(c) * BigInt(k)));
          p.timeUnixNano = ns(t);
        }
      }
  return r;
}

test('Gemini CLI cumulative: 200 sessions over 3 exports merge into monotonic series whose last value is the sum of every session', async () => {
  const base = fixtureJson('gemini-cli/interactive/03-metrics.json');
  const { p, json } = harness(cardinalityProcessor, {});
  const sessions = 200;
  const t0 = 1_795_450_315_234;
  const finals = new Map<string, Json[]>();
  for (let k = 1; k <= 3; k++) {
    // Each export round arrives as requests of 25 sessions, in a different order each round.
    const order = Array.from({ length: sessions }, (_, i) => (i * [1, 3, 7][k - 1] + k) % sessions);
    for (let c = 0; c < sessions; c += 25) {
      const reqs = order.slice(c, c + 25).map((s) => geminiExport(base, s, k, t0 + k * 10_000 + s));
      for (const f of flatten(reqs)) finals.set(expectedSeries(f) + '#' + attr(f.resource, 'session.id'), [f.point]);
      await p.consume(metricsBatch(join(reqs)));
    }
  }
  const bySeries = new Map<string, Json[]>();
  for (const f of flatten(json())) bySeries.set(seriesOf(f), [...(bySeries.get(seriesOf(f)) ?? []), f.point]);
  const expectedFinal = new Map<string, Json[]>();
  for (const [k, pts] of finals) {
    const s = k.slice(0, k.lastIndexOf('#'));
    expectedFinal.set(s, [...(expectedFinal.get(s) ?? []), ...pts]);
  }
  assert.deepEqual([...bySeries.keys()].sort(), [...expectedFinal.keys()].sort());
  for (const [s, pts] of bySeries) {
    const starts = new Set(pts.map((x) => x.startTimeUnixNano));
    assert.equal(starts.size, 1, `start time moved on ${s}`);
    const values = pts.map((x) => (x.count !== undefined ? Number(x.count) : Number(x.asInt)));
    for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], `${s} went down: ${values}`);
    for (let i = 1; i < pts.length; i++) assert.ok(BigInt(pts[i].timeUnixNano) > BigInt(pts[i - 1].timeUnixNano));
    const last = pts[pts.length - 1];
    const want = expectedFinal.get(s)!;
    if (last.count !== undefined) {
      assert.equal(BigInt(last.count), want.reduce((a, x) => a + BigInt(x.count), 0n), s);
      const buckets = last.bucketCounts.map(BigInt);
      want.forEach((x) => x.bucketCounts.forEach((c: string, i: number) => (buckets[i] -= BigInt(c))));
      assert.ok(buckets.every((b: bigint) => b === 0n), `buckets of ${s}`);
      const sum = new Exact();
      for (const x of want) sum.addDouble(x.sum);
      assert.equal(last.sum, sum.toNumber());
    } else {
      assert.equal(BigInt(last.asInt), want.reduce((a, x) => a + BigInt(x.asInt), 0n), s);
    }
  }
});

const cumPoint = (session: string, start: number, time: number, v: number) => ({
  attributes: [{ key: 'session.id', value: { stringValue: session } }],
  startTimeUnixNano: ns(start),
  timeUnixNano: ns(time),
  asInt: v,
});
const cumReq = (...dataPoints: Json[]) => ({
  resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'requests', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints } }] }] }],
});

test('cumulative merge with a source reset: the merged series never decreases and keeps its start', async () => {
  const { p, json } = harness(cardinalityProcessor, {});
  const t = 1_700_000_000_000;
  await p.consume(metricsBatch(cumReq(cumPoint('a', t, t + 10_000, 10), cumPoint('b', t + 1_000, t + 10_000, 5))));
  await p.consume(metricsBatch(cumReq(cumPoint('a', t, t + 20_000, 12), cumPoint('b', t + 1_000, t + 20_000, 9))));
  // a restarts: a new start time and a lower value.
  await p.consume(metricsBatch(cumReq(cumPoint('a', t + 25_000, t + 30_000, 3), cumPoint('b', t + 1_000, t + 30_000, 9))));
  await p.consume(metricsBatch(cumReq(cumPoint('a', t + 25_000, t + 40_000, 4))));
  const out = flatten(json()).map((f) => f.point);
  assert.deepEqual(out.map((x) => Number(x.asInt)), [15, 21, 24, 25]);
  assert.ok(out.every((x) => x.startTimeUnixNano === ns(t)), 'one stable start time');
  assert.ok(out.every((x) => attr(x.attributes, 'session.id') === undefined));
});

test('a source forgotten for idleness keeps its last value in the total; out-of-order and repeated points are not added', () => {
  const cfg = cardinalityProcessor.schema.check({ idle_timeout: '1m' }, [], { issues: [] })!;
  const engine = createEngine(cfg);
  const t = 1_700_000_000_000;
  const run = (now: number, ...pts: Json[]) => {
    const c = zeroCounts();
    const out = engine.process(metricsBatch(cumReq(...pts)).read() as MetricsRequest, now, c);
    return { c, values: out ? flatten([Batch.fromModel('metrics', out, true).toJsonObject()]).map((f) => Number(f.point.asInt)) : [] };
  };
  assert.deepEqual(run(0, cumPoint('a', t, t + 1000, 10), cumPoint('b', t, t + 1000, 1)).values, [11]);
  assert.equal(engine.stats().sources, 2);
  assert.deepEqual(run(30_000, cumPoint('b', t, t + 31_000, 2)).values, [12]);
  // a has been silent for 70 s: forgotten, but its 10 stays in the total.
  assert.deepEqual(run(70_000, cumPoint('b', t, t + 71_000, 4)).values, [14]);
  assert.equal(engine.stats().sources, 1);
  const r = run(80_000, cumPoint('b', t, t + 50_000, 3), cumPoint('b', t, t + 71_000, 4));
  assert.deepEqual([r.values, r.c.outOfOrder, r.c.duplicate], [[], 1, 1]);
  // Everything idle: all state goes.
  run(200_000);
  assert.deepEqual(engine.stats(), { series: 0, sources: 0, groups: 0, metrics: 0 });
});

const histPoint = (session: string, bounds: number[], buckets: number[], sum: number, min: number, max: number) => ({
  attributes: [{ key: 'session.id', value: { stringValue: session } }, { key: 'model', value: { stringValue: 'm' } }],
  startTimeUnixNano: ns(1000),
  timeUnixNano: ns(2000),
  count: buckets.reduce((a, b) => a + b, 0),
  sum,
  min,
  max,
  bucketCounts: buckets,
  explicitBounds: bounds,
});
const histReq = (temporality: number, ...dataPoints: Json[]) => ({
  resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'latency', unit: 'ms', histogram: { aggregationTemporality: temporality, dataPoints } }] }] }],
});

test('histograms merge when bounds agree (known answer); other bounds stay apart with their attributes, counted', async () => {
  for (const temporality of [1, 2]) {
    const { p, json, telemetry } = harness(cardinalityProcessor, {});
    await p.consume(
      metricsBatch(
        histReq(
          temporality,
          histPoint('a', [10, 100], [1, 2, 0], 120, 4, 70),
          histPoint('b', [10, 100], [0, 1, 3], 900, 50, 400),
          histPoint('c', [5, 50], [1, 0, 0], 2, 2, 2),
        ),
      ),
    );
    const out = flatten(json());
    assert.equal(out.length, 2, `temporality ${temporality}`);
    const merged = out.find((f) => attr(f.point.attributes, 'session.id') === undefined)!.point;
    assert.deepEqual(
      [Number(merged.count), merged.sum, merged.bucketCounts.map(Number), merged.min, merged.max, merged.explicitBounds],
      [7, 1020, [1, 3, 3], 4, 400, [10, 100]],
    );
    const apart = out.find((f) => attr(f.point.attributes, 'session.id') === 'c')!.point;
    assert.deepEqual(apart.explicitBounds, [5, 50]);
    assert.equal(telemetry.total('cardinality_unmerged_points', { reason: 'histogram_bounds' }), 1);
  }
});

test('exponential histograms of two sessions at different scales merge at the smaller one', async () => {
  const { p, json } = harness(cardinalityProcessor, {});
  const point = (s: string, scale: number, offset: number, counts: number[], sum: number) => ({
    attributes: [{ key: 'session.id', value: { stringValue: s } }],
    startTimeUnixNano: ns(1000),
    timeUnixNano: ns(2000),
    count: counts.reduce((a, b) => a + b, 0) + 1,
    sum,
    scale,
    zeroCount: 1,
    positive: { offset, bucketCounts: counts },
    min: 0,
    max: 4,
  });
  await p.consume(
    metricsBatch({
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'size', exponentialHistogram: { aggregationTemporality: 1, dataPoints: [
        point('a', 1, 0, [1, 2, 3, 4], 20),
        point('b', 0, 0, [5, 6], 30),
      ] } }] }] }],
    }),
  );
  const [f] = flatten(json());
  const x = f.point;
  assert.deepEqual(
    [x.scale ?? 0, Number(x.count), Number(x.zeroCount), x.positive.offset ?? 0, x.positive.bucketCounts.map(Number), x.sum, x.min ?? 0, x.max],
    [0, 23, 2, 0, [8, 13], 50, 0, 4],
  );
});

const gaugeReq = (name: string, ...pts: [string, number, number][]) => ({
  resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name, gauge: { dataPoints: pts.map(([s, t, v]) => ({
    attributes: [{ key: 'session.id', value: { stringValue: s } }],
    timeUnixNano: ns(t),
    asDouble: v,
  })) } }] }] }],
});

test('gauges merge by last value by time, or by sum, max or min as configured per metric', async () => {
  const { p, json } = harness(cardinalityProcessor, {
    rules: [
      { metrics: '^g\\.sum$', gauge: 'sum' },
      { metrics: ['^g\\.max$'], gauge: 'max' },
      { metrics: ['^g\\.min$'], gauge: 'min' },
    ],
  });
  const pts: [string, number, number][] = [['a', 3000, 7], ['b', 5000, 2], ['c', 4000, 9]];
  for (const name of ['g.last', 'g.sum', 'g.max', 'g.min']) await p.consume(metricsBatch(gaugeReq(name, ...pts)));
  const got = Object.fromEntries(flatten(json()).map((f) => [f.name, [f.point.asDouble, f.point.timeUnixNano]]));
  assert.deepEqual(got, {
    'g.last': [2, ns(5000)],
    'g.sum': [18, ns(5000)],
    'g.max': [9, ns(5000)],
    'g.min': [2, ns(5000)],
  });
});

test('summaries never merge: points that would coincide keep their own attributes and are counted', async () => {
  const { p, json, telemetry } = harness(cardinalityProcessor, {});
  const sp = (s: string, count: number) => ({
    attributes: [{ key: 'session.id', value: { stringValue: s } }, { key: 'op', value: { stringValue: 'x' } }],
    timeUnixNano: ns(2000),
    count,
    sum: count * 2,
    quantileValues: [{ quantile: 0.5, value: 2 }],
  });
  await p.consume(metricsBatch({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'rpc', summary: { dataPoints: [sp('a', 3), sp('b', 4), sp('c', 5)] } }] }] }] }));
  const out = flatten(json());
  assert.deepEqual(out.map((f) => [attr(f.point.attributes, 'session.id'), Number(f.point.count)]).sort(), [[undefined, 3], ['b', 4], ['c', 5]].sort());
  assert.equal(telemetry.total('cardinality_unmerged_points', { reason: 'summary' }), 2);
  assert.equal(new Set(out.map(seriesOf)).size, 3, 'no two points share a series');
});

const toolReq = (...tools: [string, number][]) => ({
  resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'tool.calls', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: tools.map(([tool, v], i) => ({
    attributes: [{ key: 'tool', value: { stringValue: tool } }],
    startTimeUnixNano: ns(1000 + i),
    timeUnixNano: ns(2000 + i),
    asInt: v,
  })) } }] }] }],
});

test('series cap: the N+1st series goes to the otel.metric.overflow series and no value is lost', async () => {
  const { p, json, telemetry } = harness(cardinalityProcessor, { max_series_per_metric: 3 });
  await p.consume(metricsBatch(toolReq(['Bash', 1], ['Read', 2], ['Edit', 4], ['Write', 8])));
  await p.consume(metricsBatch(toolReq(['Bash', 16], ['Grep', 32], ['Glob', 64])));
  const out = flatten(json());
  const byKey = (i: number) => Object.fromEntries(flatten([json()[i]]).map((f) => [keyOf(f.point.attributes), Number(f.point.asInt)]));
  const overflow = keyOf([{ key: 'otel.metric.overflow', value: { boolValue: true } }]);
  const tool = (t: string) => keyOf([{ key: 'tool', value: { stringValue: t } }]);
  assert.deepEqual(byKey(0), { [tool('Bash')]: 1, [tool('Read')]: 2, [tool('Edit')]: 4, [overflow]: 8 });
  assert.deepEqual(byKey(1), { [tool('Bash')]: 16, [overflow]: 96 });
  assert.equal(out.reduce((a, f) => a + Number(f.point.asInt), 0), 127);
  assert.equal(telemetry.total('cardinality_overflow_points'), 3);
});

test('memory stays bounded under an endless stream of fresh prompt ids and sessions', () => {
  const cfg = cardinalityProcessor.schema.check({ idle_timeout: '10m', max_series_per_metric: 100 }, [], { issues: [] })!;
  const engine = createEngine(cfg);
  let peak = { series: 0, sources: 0 };
  // 2000 requests, one a second, each from a new session with a new prompt id:
  // prompt.id is kept on `with_prompt` (the cap holds it), stripped from `tokens`
  // (cumulative: one source per session until it goes idle).
  for (let i = 0; i < 2000; i++) {
    const req = {
      resourceMetrics: [{ scopeMetrics: [{ metrics: [
        { name: 'with_prompt', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [
          { attributes: [{ key: 'request', value: { stringValue: `r-${i}` } }], startTimeUnixNano: ns(i * 1000), timeUnixNano: ns(i * 1000 + 500), asInt: 1 },
        ] } },
        { name: 'tokens', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [
          { attributes: [{ key: 'session.id', value: { stringValue: `s-${i}` } }, { key: 'prompt.id', value: { stringValue: `p-${i}` } }], startTimeUnixNano: ns(i * 1000), timeUnixNano: ns(i * 1000 + 500), asInt: 10 },
        ] } },
      ] }] }],
    };
    engine.process(Batch.fromJsonObject('metrics', req).read() as MetricsRequest, i * 1000, zeroCounts());
    const st = engine.stats();
    peak = { series: Math.max(peak.series, st.series), sources: Math.max(peak.sources, st.sources) };
  }
  // with_prompt: 100 series + overflow (600 would be live without the cap); tokens: 1 series.
  // Sources: the sessions of the last 10 minutes (2000 without expiry).
  assert.ok(peak.series <= 102, `series peaked at ${peak.series}`);
  assert.ok(peak.sources <= 601, `sources peaked at ${peak.sources}`);
  assert.ok(peak.sources >= 590, 'the sessions of the idle window are all tracked');
  assert.ok(engine.stats().series >= 2);
});

test('a hard bound (max_tracked) holds even when nothing is idle', () => {
  const cfg = cardinalityProcessor.schema.check({ max_tracked: 50, strip: { attributes: ['session.id'] } }, [], { issues: [] })!;
  const engine = createEngine(cfg);
  for (let i = 0; i < 500; i++)
    engine.process(metricsBatch(cumReq(cumPoint(`s-${i}`, 1000, 2000, 1))).read() as MetricsRequest, 0, zeroCounts());
  assert.ok(engine.stats().sources <= 50, `${engine.stats().sources} sources`);
});

test('live sources forgotten at max_tracked are counted (a returning one would be counted again in its sum)', async () => {
  const { p, telemetry } = harness(cardinalityProcessor, { max_tracked: 50, strip: { attributes: ['session.id'] } });
  for (let i = 0; i < 200; i++) await p.consume(metricsBatch(cumReq(cumPoint(`s-${i}`, 1000, 2000, 1))));
  const sources = telemetry.total('cardinality_evicted', { kind: 'source' });
  assert.ok(sources >= 150 - 1, `${sources} live sources counted as forgotten`);
  // Idle state forgotten by idle_timeout is not an eviction.
  const idle = harness(cardinalityProcessor, { idle_timeout: '1ms', strip: { attributes: ['session.id'] } });
  for (let i = 0; i < 20; i++) {
    await idle.p.consume(metricsBatch(cumReq(cumPoint(`s-${i}`, 1000, 2000, 1))));
    await new Promise((r) => setTimeout(r, 3));
  }
  assert.equal(idle.telemetry.total('cardinality_evicted'), 0);
});

test('a request with nothing to strip or merge goes on untouched, with its original bytes', async () => {
  const { p, got } = harness(cardinalityProcessor, {});
  const batch = metricsBatch(fixtureJson('codex/exec/03-metrics.json'));
  const bytes = batch.toProto();
  await p.consume(batch);
  assert.equal(got[0], batch);
  assert.equal(got[0].toProto(), bytes);
});

test('resource keys are removed per metric rule; metrics that then share a resource are grouped under it', async () => {
  const base = fixtureJson('gemini-cli/interactive/03-metrics.json');
  const { p, json } = harness(cardinalityProcessor, { rules: [{ metrics: '^gemini_cli\\.token\\.', resource_attributes: ['host.name', 'process.command_args'] }] });
  const a = asSession(base, 1);
  const b = asSession(base, 2);
  setAttr(b.resourceMetrics[0].resource.attributes, 'host.name', { stringValue: 'other-host' });
  await p.consume(metricsBatch(join([a, b])));
  const out = json()[0];
  const resources = out.resourceMetrics.map((rm: Json) => ({
    host: attr(rm.resource.attributes, 'host.name'),
    args: attr(rm.resource.attributes, 'process.command_args') !== undefined,
    pid: attr(rm.resource.attributes, 'process.pid'),
    session: attr(rm.resource.attributes, 'session.id'),
    metrics: rm.scopeMetrics[0].metrics.map((m: Json) => m.name),
  }));
  const tokenHolders = resources.filter((r: Json) => r.metrics.includes('gemini_cli.token.usage'));
  assert.equal(tokenHolders.length, 1);
  assert.deepEqual([tokenHolders[0].host, tokenHolders[0].args], [undefined, false]);
  assert.deepEqual(resources.filter((r: Json) => r.host).map((r: Json) => r.host).sort(), ['other-host', 'vm']);
  assert.ok(resources.every((r: Json) => r.pid === undefined && r.session === undefined));
});

test('opt-in keys and patterns: user.id and request ids stripped only where configured', async () => {
  const { p, json } = harness(cardinalityProcessor, {
    strip: { attributes: ['session.id'], patterns: ['(^|[._])request[._]?id$'] },
    rules: [{ metrics: '^claude_code\\.cost', attributes: ['user.id'] }],
  });
  const req = asSession(fixtureJson('claude-code/tool-call/02-metrics.json'), 0);
  for (const f of flatten([req])) f.point.attributes.push({ key: 'gen_ai.request_id', value: { stringValue: 'req-1' } });
  await p.consume(metricsBatch(req));
  for (const f of flatten(json())) {
    assert.equal(attr(f.point.attributes, 'gen_ai.request_id'), undefined);
    assert.equal(attr(f.point.attributes, 'user.id') === undefined, f.name === 'claude_code.cost.usage', f.name);
    assert.ok(attr(f.point.attributes, 'prompt.id') !== undefined, 'prompt.id is kept when the list leaves it out');
  }
});

test('config: {} runs with defaults; mistakes name their YAML path', () => {
  const none: Issue[] = [];
  const ok = cardinalityProcessor.schema.check({}, ['processors', 'cardinality'], { issues: none });
  assert.equal(none.length, 0);
  const issues: Issue[] = [];
  assert.deepEqual(ok!.strip.attributes, ['prompt.id', 'prompt_id', 'session.id', 'installation.id']);
  assert.deepEqual(ok!.strip.resource_attributes, ['session.id', 'installation.id', 'process.pid']);
  assert.equal(cardinalityProcessor.signals.join(), 'metrics');
  cardinalityProcessor.schema.check(
    { idle_timeout: 0, max_series_per_metric: 0, gauge: 'avg', rules: [{ metrics: ['ok', '(bad'], condition: { atribute: 'x', equals: 1 } }], strip: { patterns: 5 } },
    ['processors', 'cardinality'],
    { issues },
  );
  const paths = issues.map((i) => i.path.join('.'));
  for (const want of [
    'processors.cardinality.max_series_per_metric',
    'processors.cardinality.gauge',
    'processors.cardinality.rules.0.metrics.1',
    'processors.cardinality.strip.patterns',
  ])
    assert.ok(paths.includes(want), `no issue at ${want}: ${paths.join(', ')}`);
  assert.ok(paths.some((x) => x.startsWith('processors.cardinality.rules.0.condition')), paths.join(', '));
  const zero: Issue[] = [];
  cardinalityProcessor.schema.check({ idle_timeout: '0s' }, ['processors', 'cardinality'], { issues: zero });
  assert.deepEqual(zero.map((i) => i.path.join('.')), ['processors.cardinality.idle_timeout']);
});

test('cumulative: a source folded into the overflow series stays there when a slot frees up, so it is never counted twice', () => {
  const cfg = cardinalityProcessor.schema.check({ idle_timeout: '1m', max_series_per_metric: 2 }, [], { issues: [] })!;
  const engine = createEngine(cfg);
  const pt = (tool: string, time: number, v: number) => ({ attributes: [{ key: 'tool', value: { stringValue: tool } }], startTimeUnixNano: ns(1000), timeUnixNano: ns(time), asInt: v });
  const run = (now: number, ...pts: Json[]) => {
    const req = metricsBatch(cumReq(...pts)).read() as MetricsRequest;
    // null: the request goes on as it came.
    const out = engine.process(req, now, zeroCounts()) ?? req;
    return Object.fromEntries(flatten([Batch.fromModel('metrics', out, true).toJsonObject()]).map((f) => [String(attr(f.point.attributes, 'tool') ?? 'overflow'), Number(f.point.asInt)]));
  };
  assert.deepEqual(run(0, pt('a', 2000, 1), pt('b', 2000, 1), pt('c', 2000, 5)), { a: 1, b: 1, overflow: 5 });
  assert.deepEqual(run(50_000, pt('a', 52_000, 2), pt('c', 52_000, 6)), { a: 2, overflow: 6 });
  // b has gone idle and freed its slot; c still goes to the overflow series.
  assert.deepEqual(run(70_000, pt('c', 72_000, 7)), { overflow: 7 });
  assert.deepEqual(run(75_000, pt('d', 76_000, 3)), { d: 3 });
});

test('staleness markers: one marker for the merged series once every source has ended; a later source starts it anew', async () => {
  const { p, json } = harness(cardinalityProcessor, {});
  const t = 1_700_000_000_000;
  const marker = (s: string, time: number) => ({ attributes: [{ key: 'session.id', value: { stringValue: s } }], startTimeUnixNano: ns(t), timeUnixNano: ns(time), flags: 1 });
  await p.consume(metricsBatch(cumReq(cumPoint('a', t, t + 1000, 4), cumPoint('b', t, t + 1000, 6))));
  await p.consume(metricsBatch(cumReq(marker('a', t + 2000))));
  await p.consume(metricsBatch(cumReq(marker('b', t + 3000))));
  await p.consume(metricsBatch(cumReq(cumPoint('c', t + 5000, t + 6000, 1))));
  const out = flatten(json()).map((f) => [f.point.asInt === undefined ? 'marker' : Number(f.point.asInt), f.point.startTimeUnixNano ?? null]);
  assert.deepEqual(out, [[10, ns(t)], ['marker', null], [1, ns(t + 5000)]]);
});

test('a rule with a condition on the resource strips only where it matches', async () => {
  const { p, json } = harness(cardinalityProcessor, { rules: [{ condition: { attribute: 'resource.service.name', equals: 'claude-code' }, attributes: ['user.id'] }] });
  const claude = fixtureJson('claude-code/tool-call/02-metrics.json');
  const other = clone(claude);
  setAttr(other.resourceMetrics[0].resource.attributes, 'service.name', { stringValue: 'other-agent' });
  await p.consume(metricsBatch(join([claude, other])));
  const byService = new Map<unknown, boolean>();
  for (const f of flatten(json())) byService.set(attr(f.resource, 'service.name'), attr(f.point.attributes, 'user.id') !== undefined);
  assert.deepEqual(Object.fromEntries(byService), { 'claude-code': false, 'other-agent': true });
});
