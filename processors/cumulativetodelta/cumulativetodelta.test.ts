// cumulativetodelta on Gemini CLI's cumulative exports and on crafted resets, with
// a round trip through deltatocumulative on the Claude Code and Codex streams.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { cumulativetodeltaProcessor } from './index';
import { CumulativeToDelta, type C2DCounts } from './convert';
import { deltatocumulativeProcessor } from '../deltatocumulative/index';
import { Batch } from '../../src/otlp/batch';
import type { MetricsRequest } from '../../src/otlp/model';
import { clone, fixtureJson, flatten, harness, metricsBatch, ns, seriesOf, type Json } from '../cardinality/testing';

/** Gemini CLI's export k of one session: counts times k at a later time (cumulative grows). */
function geminiExport(base: Json, k: number): Json {
  const r = clone(base);
  for (const f of flatten([r])) {
    const p = f.point;
    p.timeUnixNano = String(BigInt(p.timeUnixNano) + BigInt(k) * 10_000_000_000n);
    if (p.asInt !== undefined) p.asInt = String(BigInt(p.asInt) * BigInt(k));
    if (p.bucketCounts) {
      p.count = String(BigInt(p.count) * BigInt(k));
      p.bucketCounts = p.bucketCounts.map((c: string | number) => String(BigInt(c) * BigInt(k)));
      p.sum = p.sum * k;
    }
  }
  return r;
}

test('Gemini CLI cumulative exports become deltas: what each series gained since its previous export', async () => {
  const { p, json } = harness(cumulativetodeltaProcessor, { initial_value: 'keep' });
  const base = fixtureJson('gemini-cli/interactive/03-metrics.json');
  const inputs = [1, 2, 4].map((k) => geminiExport(base, k));
  for (const r of inputs) await p.consume(metricsBatch(r));
  const outs = json().map((o) => flatten([o]));
  const ins = inputs.map((r) => flatten([r]));
  assert.equal(outs.length, 3);
  const factor = [1, 1, 2]; // gained: k1 - 0, k2 - k1, k4 - k2, in units of the recorded value
  for (let k = 0; k < 3; k++) {
    assert.equal(outs[k].length, ins[k].length);
    for (let i = 0; i < outs[k].length; i++) {
      const a = ins[0][i].point; // the recorded value (k = 1)
      const b = outs[k][i];
      assert.equal(seriesOf(b), seriesOf(ins[k][i]));
      assert.equal(b.temporality, 1);
      const start = k === 0 ? ins[0][i].point.startTimeUnixNano : ins[k - 1][i].point.timeUnixNano;
      assert.equal(b.point.startTimeUnixNano, start, 'window starts at the previous point');
      if (a.asInt !== undefined) assert.equal(BigInt(b.point.asInt), BigInt(a.asInt) * BigInt(factor[k]));
      else {
        assert.equal(BigInt(b.point.count), BigInt(a.count) * BigInt(factor[k]));
        assert.deepEqual(b.point.bucketCounts.map(BigInt), a.bucketCounts.map((c: number) => BigInt(c) * BigInt(factor[k])));
      }
    }
  }
});

const cum = (name: string, monotonic: boolean, ...pts: [number, number, number][]) => ({
  resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name, sum: { aggregationTemporality: 2, isMonotonic: monotonic, dataPoints: pts.map(([s, t, v]) => ({ startTimeUnixNano: ns(s), timeUnixNano: ns(t), asInt: v })) } }] }] }],
});

test('a reset (new start, or a value that went down) sends the new value as the delta since the restart', async () => {
  const { p, json, telemetry } = harness(cumulativetodeltaProcessor, { initial_value: 'keep' });
  await p.consume(metricsBatch(cum('c', true, [1000, 2000, 10])));
  await p.consume(metricsBatch(cum('c', true, [1000, 3000, 15])));
  await p.consume(metricsBatch(cum('c', true, [3500, 4000, 4]))); // restarted at 3500
  await p.consume(metricsBatch(cum('c', true, [3500, 5000, 2]))); // went down without a new start
  await p.consume(metricsBatch(cum('c', true, [3500, 5000, 2]))); // repeated
  await p.consume(metricsBatch(cum('c', true, [3500, 4500, 9]))); // older
  const got = flatten(json()).map((f) => [Number(f.point.asInt), f.point.startTimeUnixNano, f.point.timeUnixNano]);
  assert.deepEqual(got, [
    [10, ns(1000), ns(2000)],
    [5, ns(2000), ns(3000)],
    [4, ns(3500), ns(4000)],
    [2, ns(4000), ns(5000)],
  ]);
  assert.equal(telemetry.total('cumulativetodelta_resets'), 2);
  assert.equal(telemetry.total('processor_dropped_items', { reason: 'duplicate' }), 1);
  assert.equal(telemetry.total('processor_dropped_items', { reason: 'out_of_order' }), 1);
});

test('initial_value: auto sends a first point only for streams that started after the processor did', () => {
  const counts: C2DCounts = { outOfOrder: 0, duplicate: 0, streamLimit: 0, noValue: 0, initial: 0, resets: 0 };
  const conv = new CumulativeToDelta({ idleMs: 60_000, maxStreams: 100, include: [], exclude: [], initialValue: 'auto', startedNs: 5_000n * 1_000_000n });
  const req = Batch.fromJsonObject('metrics', {
    resourceMetrics: [{ scopeMetrics: [{ metrics: [
      { name: 'old', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ startTimeUnixNano: ns(1000), timeUnixNano: ns(9000), asInt: 50 }] } },
      { name: 'new', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ startTimeUnixNano: ns(6000), timeUnixNano: ns(9000), asInt: 3 }] } },
    ] }] }],
  }).edit() as MetricsRequest;
  conv.convert(req, 0, counts);
  assert.deepEqual(req.resourceMetrics[0].scopeMetrics[0].metrics.map((m) => [m.name, m.sum!.dataPoints.length]), [['old', 0], ['new', 1]]);
  assert.equal(counts.initial, 1);
});

test('non-monotonic sums, gauges and excluded metrics go on as they are', async () => {
  const { p, got, json } = harness(cumulativetodeltaProcessor, { initial_value: 'keep', exclude: '^skip\\.' });
  const b = metricsBatch(cum('queue.depth', false, [1000, 2000, 10]));
  await p.consume(b);
  assert.equal(got[0], b);
  const c = metricsBatch(cum('skip.me', true, [1000, 2000, 10]));
  await p.consume(c);
  assert.equal(got[1], c);
  await p.consume(metricsBatch({ resourceMetrics: [...cum('skip.me', true, [1000, 3000, 12]).resourceMetrics, ...cum('count', true, [1000, 3000, 12]).resourceMetrics] }));
  assert.deepEqual(flatten([json()[2]]).map((f) => [f.name, f.temporality]), [['skip.me', 2], ['count', 1]]);
});

for (const name of ['claude-code/tool-call/02-metrics.json', 'codex/exec/03-metrics.json']) {
  test(`${name}: delta -> cumulative -> delta gives back the recorded deltas`, async () => {
    const d2c = harness(deltatocumulativeProcessor, {});
    const c2d = harness(cumulativetodeltaProcessor, { initial_value: 'keep' });
    const base = fixtureJson(name);
    const inputs: Json[] = [];
    for (let k = 0; k < 3; k++) {
      const r = clone(base);
      for (const f of flatten([r])) {
        const shift = BigInt(k) * 10_000_000_000n;
        if (k > 0) f.point.startTimeUnixNano = String(BigInt(f.point.timeUnixNano) + shift - 10_000_000_000n);
        f.point.timeUnixNano = String(BigInt(f.point.timeUnixNano) + shift);
      }
      inputs.push(r);
      await d2c.p.consume(metricsBatch(r));
    }
    for (const b of d2c.got) await c2d.p.consume(b);
    for (let k = 0; k < 3; k++) {
      const a = flatten([inputs[k]]);
      const b = flatten([c2d.json()[k]]);
      assert.equal(b.length, a.length);
      for (let i = 0; i < a.length; i++) {
        assert.equal(b[i].temporality, 1);
        for (const f of ['asInt', 'count', 'startTimeUnixNano', 'timeUnixNano'])
          if (a[i].point[f] !== undefined) assert.equal(String(b[i].point[f]), String(a[i].point[f]), `${a[i].name} ${f} at ${k}`);
        // A double comes back within the rounding of the running total it went through.
        if (a[i].point.asDouble !== undefined) {
          const [x, y] = [Number(b[i].point.asDouble), Number(a[i].point.asDouble)];
          assert.ok(Math.abs(x - y) <= Math.abs(y) * 4 * Number.EPSILON, `${a[i].name} at ${k}: ${x} vs ${y}`);
        }
        if (a[i].point.bucketCounts) assert.deepEqual(b[i].point.bucketCounts.map(String), a[i].point.bucketCounts.map(String));
      }
    }
  });
}

test('config: {} runs with defaults; mistakes name their path', () => {
  const issues: { path: (string | number)[]; message: string; severity: 'error' | 'warning' }[] = [];
  const ok = cumulativetodeltaProcessor.schema.check({}, ['p'], { issues });
  assert.deepEqual(ok, { include: [], exclude: [], initial_value: 'auto', max_staleness: 3600000, max_streams: 100000 });
  cumulativetodeltaProcessor.schema.check({ include: ['(x'], initial_value: 'first', max_staleness: 0 }, ['p'], { issues });
  assert.deepEqual(issues.map((i) => i.path.join('.')).sort(), ['p.include.0', 'p.initial_value']);
  assert.deepEqual(cumulativetodeltaProcessor.signals, ['metrics']);
});
