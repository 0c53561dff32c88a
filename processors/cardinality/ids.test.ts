// The compact state keys: attribute sets compared as attrsKey compares them, and
// ids that are freed and reused without one stream ever seeing another's state.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AttrSets } from './ids';
import { StreamTable } from './streams';
import { Hist } from './values';
import type { KeyValue } from '../../src/otlp/model';

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: v } });

test('attribute sets: order does not matter, value types do (int 5, string "5" and double 5 differ)', () => {
  const sets = new AttrSets();
  const a = sets.keyOf([str('model', 'm1'), str('type', 'input'), int('n', 5)]);
  assert.equal(sets.keyOf([int('n', 5), str('model', 'm1'), str('type', 'input')]), a);
  const keys = new Set([
    a,
    sets.keyOf([str('model', 'm1'), str('type', 'input'), str('n', '5')]),
    sets.keyOf([str('model', 'm1'), str('type', 'input'), { key: 'n', value: { doubleValue: 5.5 } }]),
    sets.keyOf([str('model', 'm1'), str('type', 'input')]),
    sets.keyOf([str('model', 'm1'), str('type', 'input'), int('n', 5), int('n', 5)]),
    sets.keyOf([str('model', 'm1'), str('type', 'input'), { key: 'n', value: { arrayValue: { values: [{ intValue: 5 }] } } }]),
    sets.keyOf([]),
  ]);
  assert.equal(keys.size, 7);
});

test('attribute sets: ids that no set took are freed at flush, ids of held sets are not', () => {
  const sets = new AttrSets();
  const held = sets.acquireKey(sets.keyOf([str('session.id', 's1')]));
  const keyS1 = sets.keyOf([str('session.id', 's1')]);
  sets.keyOf([str('session.id', 's2')]);
  sets.flush();
  // s2's id was freed and goes to s3; s1 keeps its own.
  assert.notEqual(sets.keyOf([str('session.id', 's3')]), keyS1);
  assert.equal(sets.findKey(keyS1), held);
  sets.flush();
  assert.equal(sets.heldKeyOf([str('session.id', 's3')]), undefined);
  sets.release(held);
  assert.equal(sets.heldKeyOf([str('session.id', 's1')]), undefined);
});

test('stream table: after streams go stale their ids are reused, and no new stream sees an old value', () => {
  const t = new StreamTable<number>(1000, 100);
  const g1 = 'r1\u0001scope\u0001m';
  const g2 = 'r2\u0001scope\u0001m';
  const x = [str('type', 'x')];
  const y = [str('type', 'y')];
  assert.ok(t.add(g1, x, 1, 0));
  assert.ok(t.add(g2, y, 2, 0));
  assert.equal(t.get(g1, [str('type', 'x')], 10), 1);
  assert.equal(t.get(g1, y, 10), undefined);
  t.sweep(5000);
  assert.equal(t.size, 0);
  assert.ok(t.add(g2, x, 3, 5000));
  assert.ok(t.add(g1, y, 4, 5000));
  assert.deepEqual(
    [t.get(g1, x, 5001), t.get(g2, y, 5001), t.get(g2, x, 5001), t.get(g1, y, 5001)],
    [undefined, undefined, 3, 4],
  );
  t.delete(g2, x);
  assert.deepEqual([t.size, t.get(g2, x, 5002), t.get(g1, y, 5002)], [1, undefined, 4]);
});

test('stream table: a full table refuses new streams until one goes stale', () => {
  const t = new StreamTable<number>(1000, 2);
  const g = 'r\u0001s\u0001m';
  assert.ok(t.add(g, [str('k', 'a')], 1, 0));
  assert.ok(t.add(g, [str('k', 'b')], 2, 500));
  assert.equal(t.add(g, [str('k', 'c')], 3, 900), false);
  assert.ok(t.add(g, [str('k', 'c')], 3, 1200));
  assert.deepEqual([t.get(g, [str('k', 'a')], 1200), t.get(g, [str('k', 'b')], 1200), t.get(g, [str('k', 'c')], 1200)], [undefined, 2, 3]);
});

test('histograms keep no trailing empty buckets, yet write, add and subtract every bucket', () => {
  const h = (count: number, buckets: number[]) => Hist.read({ attributes: [], count, sum: count, bucketCounts: buckets, explicitBounds: [1, 2, 3, 4, 5] });
  const a = h(2, [1, 1, 0, 0, 0, 0]);
  const b = h(3, [0, 1, 0, 0, 2, 0]);
  const p: Record<string, unknown> = {};
  a.write(p);
  assert.deepEqual(p.bucketCounts, [1, 1, 0, 0, 0, 0]);
  assert.ok(a.sameBounds(b));
  const sum = a.clone();
  sum.add(b);
  assert.deepEqual(sum.buckets, [1, 2, 0, 0, 2, 0]);
  assert.deepEqual(a.buckets, [1, 1, 0, 0, 0, 0], 'the clone was added to, not the original');
  assert.deepEqual(sum.minus(b)!.buckets, [1, 1, 0, 0, 0, 0]);
  assert.deepEqual(sum.minus(a)!.buckets, [0, 1, 0, 0, 2, 0]);
  assert.equal(a.minus(b), null);
  assert.equal(h(2, [1, 1, 0, 0, 0]).sameBounds(a), false, 'a different number of buckets does not line up');
});
