// Exact sums and histogram arithmetic with known answers.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import Long from 'long';
import { Exact, numberValueOf } from './exact';
import { ExpHist, Hist, gained } from './values';

const sumDoubles = (xs: number[]) => {
  const e = new Exact();
  for (const x of xs) e.addDouble(x);
  return e;
};

test('doubles add exactly: 1e16 + 1 + 1 is 1e16 + 2 (float addition loses both ones)', () => {
  assert.equal(1e16 + 1 + 1, 1e16);
  assert.equal(sumDoubles([1e16, 1, 1]).toNumber(), 10000000000000002);
});

test('ten times 0.1 is the correctly rounded exact sum, 1 (float addition gives 0.9999999999999999)', () => {
  let f = 0;
  for (let i = 0; i < 10; i++) f += 0.1;
  assert.equal(f, 0.9999999999999999);
  assert.equal(sumDoubles(new Array(10).fill(0.1)).toNumber(), 1);
});

test('int64 values beyond 2^53 add exactly and stay ints', () => {
  const e = new Exact();
  const v = Long.fromString('9007199254740993');
  e.add(numberValueOf({ asInt: v })!);
  e.add(numberValueOf({ asInt: '9007199254740993' })!);
  e.add(numberValueOf({ asInt: 1 })!);
  assert.equal(e.isDouble, false);
  assert.equal(e.toBigInt(), 18014398509481987n);
  const p: { asInt?: unknown } = {};
  e.writeTo(p as never);
  assert.equal(String(p.asInt), '18014398509481987');
});

test('an int plus a double is a double', () => {
  const e = Exact.ofInt(2n);
  e.addDouble(0.5);
  const p: { asInt?: unknown; asDouble?: number } = {};
  e.writeTo(p as never);
  assert.deepEqual(p, { asDouble: 2.5 });
});

test('the total does not depend on the order of the points, and subtracting undoes adding', () => {
  const dbl = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 });
  fc.assert(
    fc.property(fc.array(dbl, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 1000 }), (xs, seed) => {
      const shuffled = xs.slice().sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13));
      const a = sumDoubles(xs);
      const b = sumDoubles(shuffled.reverse());
      assert.equal(a.compare(b), 0);
      assert.ok(Object.is(a.toNumber(), b.toNumber()) || (a.toNumber() === 0 && b.toNumber() === 0));
      const back = a.clone();
      back.sub(Exact.ofDouble(xs[0]));
      back.add(Exact.ofDouble(xs[0]));
      assert.equal(back.compare(a), 0);
    }),
    { numRuns: 300 },
  );
});

test('a single addition rounds exactly as IEEE addition does', () => {
  const dbl = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 });
  fc.assert(
    fc.property(dbl, dbl, (a, b) => {
      assert.equal(sumDoubles([a, b]).toNumber(), a + b === 0 ? 0 : a + b);
    }),
    { numRuns: 2000 },
  );
  for (const [a, b] of [[5e-324, 5e-324], [Number.MAX_VALUE, -Number.MAX_VALUE / 3], [2 ** 52 + 1, 0.5], [1, 2 ** -53], [0.1, 0.2]])
    assert.equal(sumDoubles([a, b]).toNumber(), a + b, `${a} + ${b}`);
});

const hist = (count: number, sum: number, buckets: number[], bounds: number[], min?: number, max?: number) =>
  Hist.read({ attributes: [], count, sum, bucketCounts: buckets, explicitBounds: bounds, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) });

test('histograms with the same bounds add counts, sums and buckets, and merge min and max', () => {
  const a = hist(3, 30, [1, 2, 0], [10, 20], 4, 15);
  const b = hist(2, 50, [0, 1, 1], [10, 20], 12, 38);
  assert.ok(a.sameBounds(b));
  a.add(b);
  const p: Record<string, unknown> = {};
  a.write(p);
  assert.deepEqual(p, { count: 5, sum: 80, bucketCounts: [1, 3, 1], explicitBounds: [10, 20], min: 4, max: 38 });
  assert.equal(hist(1, 1, [1, 0, 0], [10, 25]).sameBounds(b), false);
});

test('a cumulative histogram gains bucket by bucket; a count that goes down is a reset', () => {
  const before = hist(3, 30, [1, 2, 0], [10, 20], 4, 15);
  const after = hist(5, 80, [1, 3, 1], [10, 20], 4, 38);
  const d = gained(after, before, true) as Hist;
  assert.deepEqual([d.count, d.sum!.toNumber(), d.buckets, d.min, d.max], [2, 50, [0, 1, 1], undefined, undefined]);
  assert.equal(gained(hist(1, 5, [1, 0, 0], [10, 20]), before, true), null);
});

const exp = (scale: number, count: number, offset: number, counts: number[], zeroCount = 0, zeroThreshold = 0) =>
  ExpHist.read({ attributes: [], scale, count, sum: count, zeroCount, zeroThreshold, positive: { offset, bucketCounts: counts }, negative: { offset: 0, bucketCounts: [] } });

test('exponential histograms merge at the smaller scale (known answer)', () => {
  const a = exp(1, 10, 0, [1, 2, 3, 4]);
  const b = exp(0, 11, 0, [5, 6]);
  a.add(b);
  assert.deepEqual([a.scale, a.count, a.pos.offset, a.pos.counts, a.sum!.toNumber()], [0, 21, 0, [8, 13], 21]);
});

test('downscaling rounds negative bucket indexes down', () => {
  const a = exp(2, 5, -3, [1, 1, 1, 1, 1]);
  a.add(exp(0, 2, -1, [2]));
  assert.deepEqual([a.scale, a.pos.offset, a.pos.counts, a.count], [0, -1, [5, 2], 7]);
});

test('a merged exponential histogram keeps at most 160 buckets a range, lowering the scale', () => {
  const a = exp(0, 1, 0, [1]);
  a.add(exp(0, 1, 200, [1]));
  assert.equal(a.scale, -1);
  assert.equal(a.pos.offset, 0);
  assert.equal(a.pos.counts.length, 101);
  assert.equal(a.pos.counts[0] + a.pos.counts[100], 2);
});

test('merging with a wider zero bucket moves the buckets inside it into the zero count', () => {
  const a = exp(0, 3, -10, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]); // bucket -10 is (2^-10, 2^-9]; bucket 0 is (1, 2]
  a.add(exp(0, 1, 0, [0], 1, 0.01));
  assert.deepEqual([a.zeroThreshold, a.zeroCount, a.pos.offset, a.pos.counts.at(-1), a.count], [0.01, 2, -7, 2, 4]);
});

test('a cumulative exponential histogram gains across a scale change; a finer scale later is a reset', () => {
  const before = exp(1, 4, 0, [1, 1, 1, 1]);
  const after = exp(0, 7, 0, [3, 4]);
  const d = gained(after, before, true) as ExpHist;
  assert.deepEqual([d.scale, d.count, d.pos.offset, d.pos.counts], [0, 3, 0, [1, 2]]);
  assert.equal(gained(exp(2, 9, 0, [9]), after, true), null);
});
