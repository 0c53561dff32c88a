// deltatocumulative on the recorded delta streams of Claude Code (sums) and Codex
// (sums and histograms), and on crafted out-of-order, duplicate and limit cases.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { deltatocumulativeProcessor } from './index';
import { DeltaToCumulative, type D2CCounts } from './convert';
import { Batch } from '../../src/otlp/batch';
import type { MetricsRequest } from '../../src/otlp/model';
import { clone, fixtureJson, flatten, harness, metricsBatch, ns, seriesOf, type Json } from '../cardinality/testing';

/** Export number k (0-based) of a recorded delta request: the next window, every value times (k + 1). */
function nextWindow(req: Json, k: number): Json {
  const r = clone(req);
  const shift = BigInt(k) * 10_000_000_000n;
  for (const f of flatten([r])) {
    const p = f.point;
    const len = BigInt(p.timeUnixNano) - BigInt(p.startTimeUnixNano);
    // Windows follow each other: this one starts where the previous one ended.
    p.startTimeUnixNano = String(BigInt(p.timeUnixNano) + shift - (k === 0 ? len : 10_000_000_000n));
    p.timeUnixNano = String(BigInt(p.timeUnixNano) + shift);
    const m = BigInt(k + 1);
    if (p.asInt !== undefined) p.asInt = String(BigInt(p.asInt) * m);
    if (p.asDouble !== undefined) p.asDouble = p.asDouble * (k + 1);
    if (p.bucketCounts) {
      p.count = String(BigInt(p.count) * m);
      p.bucketCounts = p.bucketCounts.map((c: string) => String(BigInt(c) * m));
      p.sum = p.sum * (k + 1);
    }
  }
  return r;
}

const zero = (): D2CCounts => ({ outOfOrder: 0, duplicate: 0, streamLimit: 0, noValue: 0, resets: 0 });

for (const name of ['claude-code/tool-call/02-metrics.json', 'codex/exec/03-metrics.json', 'codex/tui/06-metrics.json', 'codex/exec-protobuf/03-metrics.pb']) {
  test(`${name} as a delta stream: every output point is the running sum of its inputs, with a fixed start`, async () => {
    const { p, json } = harness(deltatocumulativeProcessor, {});
    const base = fixtureJson(name);
    const inputs: Json[] = [];
    for (let k = 0; k < 4; k++) {
      inputs.push(nextWindow(base, k));
      await p.consume(metricsBatch(inputs[k]));
    }
    const outs = json();
    assert.equal(outs.length, 4);
    const running = new Map<string, { v: bigint | number; count: bigint; sum: number; buckets: bigint[]; start: string }>();
    let checked = 0;
    for (let k = 0; k < 4; k++) {
      const inPts = flatten([inputs[k]]);
      const outPts = flatten([outs[k]]);
      assert.equal(outPts.length, inPts.length);
      for (let i = 0; i < inPts.length; i++) {
        const a = inPts[i];
        const b = outPts[i];
        assert.equal(seriesOf(a), seriesOf(b));
        assert.equal(b.temporality, 2);
        const key = seriesOf(a);
        const r = running.get(key) ?? { v: a.point.asInt !== undefined ? 0n : 0, count: 0n, sum: 0, buckets: [], start: a.point.startTimeUnixNano };
        if (a.point.asInt !== undefined) r.v = (r.v as bigint) + BigInt(a.point.asInt);
        else if (a.point.asDouble !== undefined) r.v = (r.v as number) + a.point.asDouble;
        if (a.point.bucketCounts) {
          r.count += BigInt(a.point.count);
          r.sum += a.point.sum;
          r.buckets = a.point.bucketCounts.map((c: string, j: number) => (r.buckets[j] ?? 0n) + BigInt(c));
        }
        running.set(key, r);
        assert.equal(b.point.startTimeUnixNano, r.start, 'start stays fixed');
        assert.equal(b.point.timeUnixNano, a.point.timeUnixNano);
        if (a.point.bucketCounts) {
          assert.equal(BigInt(b.point.count), r.count);
          assert.deepEqual(b.point.bucketCounts.map(BigInt), r.buckets);
          assert.equal(b.point.sum, r.sum);
        } else if (a.point.asInt !== undefined) {
          assert.equal(BigInt(b.point.asInt), r.v);
        } else {
          // Claude Code's doubles: k * v summed here in the order they came, as the processor's exact sum would round.
          assert.ok(Math.abs(Number(b.point.asDouble) - (r.v as number)) <= Math.abs(r.v as number) * 1e-15, `${b.point.asDouble} vs ${r.v}`);
        }
        checked++;
      }
    }
    assert.ok(checked >= 4 * 12);
  });
}

const sumReq = (...pts: [number, number, number][]) => ({
  resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'c', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: pts.map(([s, t, v]) => ({ attributes: [], startTimeUnixNano: ns(s), timeUnixNano: ns(t), asInt: v })) } }] }] }],
});

test('out-of-order, overlapping and repeated delta points are dropped and counted, not added twice', async () => {
  const { p, json, telemetry } = harness(deltatocumulativeProcessor, {});
  await p.consume(metricsBatch(sumReq([1000, 2000, 5])));
  await p.consume(metricsBatch(sumReq([1000, 2000, 5]))); // repeated (a retry)
  await p.consume(metricsBatch(sumReq([2000, 3000, 1], [500, 1500, 9]))); // the second is older
  await p.consume(metricsBatch(sumReq([2500, 4000, 7]))); // starts before the last one ended
  await p.consume(metricsBatch(sumReq([5000, 6000, 2]))); // a gap is fine
  const values = flatten(json()).map((f) => [Number(f.point.asInt), f.point.startTimeUnixNano]);
  assert.deepEqual(values, [[5, ns(1000)], [6, ns(1000)], [8, ns(1000)]]);
  assert.equal(telemetry.total('processor_dropped_items', { reason: 'duplicate' }), 1);
  assert.equal(telemetry.total('processor_dropped_items', { reason: 'out_of_order' }), 2);
});

test('int sums beyond 2^53 stay exact', async () => {
  const { p, json } = harness(deltatocumulativeProcessor, {});
  const big = (s: number, t: number, v: string) => ({
    resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'bytes', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ startTimeUnixNano: ns(s), timeUnixNano: ns(t), asInt: v }] } }] }] }],
  });
  await p.consume(metricsBatch(big(0, 1000, '9007199254740993')));
  await p.consume(metricsBatch(big(1000, 2000, '9007199254740995')));
  assert.deepEqual(flatten(json()).map((f) => String(f.point.asInt)), ['9007199254740993', '18014398509481988']);
});

test('exponential histograms accumulate, merging scales', async () => {
  const { p, json } = harness(deltatocumulativeProcessor, {});
  const req = (s: number, t: number, scale: number, counts: number[]) => ({
    resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'e', exponentialHistogram: { aggregationTemporality: 1, dataPoints: [{
      startTimeUnixNano: ns(s), timeUnixNano: ns(t), scale, count: counts.reduce((a, b) => a + b, 0), sum: 1, positive: { offset: 0, bucketCounts: counts },
    }] } }] }] }],
  });
  await p.consume(metricsBatch(req(500, 1000, 1, [1, 2, 3, 4])));
  await p.consume(metricsBatch(req(1000, 2000, 0, [5, 6])));
  const pts = flatten(json()).map((f) => f.point);
  assert.deepEqual(pts.map((x) => [x.scale ?? 0, Number(x.count), x.positive.bucketCounts.map(Number), x.sum, x.startTimeUnixNano]), [
    [1, 10, [1, 2, 3, 4], 1, ns(500)],
    [0, 21, [8, 13], 2, ns(500)],
  ]);
});

test('state is bounded: max_streams refuses new streams until old ones go stale after max_stale', () => {
  const conv = new DeltaToCumulative(60_000, 10);
  const req = (i: number, t: number) =>
    Batch.fromJsonObject('metrics', {
      resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'c', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [
        { attributes: [{ key: 'prompt.id', value: { stringValue: `p-${i}` } }], startTimeUnixNano: ns(t), timeUnixNano: ns(t + 1), asInt: 1 },
      ] } }] }] }],
    }).edit() as MetricsRequest;
  let c = zero();
  for (let i = 0; i < 1000; i++) {
    const counts = zero();
    conv.convert(req(i, i * 1000), i * 1000, counts);
    c = { ...c, streamLimit: c.streamLimit + counts.streamLimit };
    assert.ok(conv.streams.size <= 10);
  }
  // One new stream a second, 60 s to go stale: after the first 10, one in six fits.
  assert.ok(c.streamLimit > 800 && c.streamLimit < 1000, `${c.streamLimit} refused`);
});

test('cumulative metrics, gauges and requests without delta go on untouched', async () => {
  const { p, got } = harness(deltatocumulativeProcessor, {});
  const b = metricsBatch(fixtureJson('gemini-cli/interactive/03-metrics.json'));
  await p.consume(b);
  assert.equal(got[0], b);
});

test('config: {} runs with defaults; mistakes name their path; metrics only', () => {
  const issues: { path: (string | number)[]; message: string; severity: 'error' | 'warning' }[] = [];
  assert.deepEqual(deltatocumulativeProcessor.schema.check({}, ['p'], { issues }), { max_stale: 300000, max_streams: 100000 });
  deltatocumulativeProcessor.schema.check({ max_stale: '0s', max_streams: 0, max_stael: '1m' }, ['p'], { issues });
  assert.deepEqual(issues.map((i) => i.path.join('.')).sort(), ['p.max_stael', 'p.max_streams']);
  const zeroStale: typeof issues = [];
  deltatocumulativeProcessor.schema.check({ max_stale: '0s' }, ['p'], { issues: zeroStale });
  assert.deepEqual(zeroStale.map((i) => i.path.join('.')), ['p.max_stale']);
  assert.deepEqual(deltatocumulativeProcessor.signals, ['metrics']);
});
