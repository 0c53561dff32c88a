// Properties of the cardinality processor on random streams: whatever the sessions,
// values, resets and the way points are split into requests, no value is lost or
// counted twice, a request never holds two points of one series, delta windows never
// overlap, and merged cumulative series never go down.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { cardinalityProcessor, createEngine, zeroCounts } from './index';
import { Batch } from '../../src/otlp/batch';
import type { MetricsRequest } from '../../src/otlp/model';
import { attr, flatten, metricsBatch, ns, seriesOf, type Json } from './testing';

const cfg = () => cardinalityProcessor.schema.check({ max_series_per_metric: 3 }, [], { issues: [] })!;

function run(requests: Json[]): Json[][] {
  const engine = createEngine(cfg());
  return requests.map((r, i) => {
    const model = metricsBatch(r).read() as MetricsRequest;
    const out = engine.process(model, i * 1000, zeroCounts()) ?? model;
    return flatten([Batch.fromModel('metrics', out, true).toJsonObject()]).map((f) => ({ ...f.point, series: seriesOf(f), name: f.name }));
  });
}

const req = (temporality: number, pts: Json[]) => ({
  resourceMetrics: pts.map((p) => ({
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }, { key: 'session.id', value: { stringValue: p.session } }] },
    scopeMetrics: [{ scope: { name: 's' }, metrics: [{ name: 'm', sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: [{
      attributes: [{ key: 'session.id', value: { stringValue: p.session } }, { key: 'prompt.id', value: { stringValue: p.prompt ?? `p${p.i}` } }, { key: 'tool', value: { stringValue: p.tool } }],
      startTimeUnixNano: ns(p.start), timeUnixNano: ns(p.time), asInt: p.v,
    }] } }] }],
  })),
});

/** Splits a list into consecutive requests at the given cut points. */
function split<T>(xs: T[], cuts: number[]): T[][] {
  const at = [...new Set(cuts.map((c) => c % (xs.length + 1)))].sort((a, b) => a - b);
  const out: T[][] = [];
  let prev = 0;
  for (const c of [...at, xs.length]) {
    if (c > prev) out.push(xs.slice(prev, c));
    prev = Math.max(prev, c);
  }
  return out;
}

const session = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const tool = fc.constantFrom('Bash', 'Read', 'Edit', 'Write', 'Grep');

test('delta: totals kept per tool, one point per series per request, windows in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ session, tool, v: fc.integer({ min: 0, max: 1_000_000 }), start: fc.integer({ min: 0, max: 50_000 }), len: fc.integer({ min: 1, max: 20_000 }) }), { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (raw, cuts) => {
        const pts = raw.map((p, i) => ({ ...p, i, time: p.start + p.len }));
        const outs = run(split(pts, cuts).map((chunk) => req(1, chunk)));
        const sumIn = new Map<string, bigint>();
        for (const p of pts) sumIn.set(p.tool, (sumIn.get(p.tool) ?? 0n) + BigInt(p.v));
        let total = 0n;
        for (const o of outs) {
          assert.equal(new Set(o.map((p) => p.series)).size, o.length);
          for (const p of o) {
            assert.equal(attr(p.attributes, 'session.id'), undefined);
            total += BigInt(p.asInt);
          }
        }
        assert.equal(total, [...sumIn.values()].reduce((a, b) => a + b, 0n));
        // With at most 3 series, tools beyond the third share the overflow series; the rest are exact per tool.
        for (const [t, v] of sumIn) {
          const got = outs.flat().filter((p) => attr(p.attributes, 'tool') === t).reduce((a, p) => a + BigInt(p.asInt), 0n);
          if (got > 0n) assert.equal(got, v, t);
        }
        const bySeries = new Map<string, Json[]>();
        for (const p of outs.flat()) bySeries.set(p.series, [...(bySeries.get(p.series) ?? []), p]);
        for (const list of bySeries.values())
          for (let i = 1; i < list.length; i++) assert.ok(BigInt(list[i].startTimeUnixNano) >= BigInt(list[i - 1].timeUnixNano));
      },
    ),
    { numRuns: 150 },
  );
});

test('cumulative with resets: merged series never go down, and end at the sum of every segment of every source', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ session, tool: fc.constantFrom('Bash', 'Read'), step: fc.integer({ min: 0, max: 1000 }), reset: fc.boolean() }), { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (raw, cuts) => {
        // Build monotonic sources (session x tool) with occasional restarts.
        const state = new Map<string, { start: number; v: number; done: number }>();
        const pts = raw.map((r, i) => {
          const k = `${r.session}/${r.tool}`;
          let s = state.get(k);
          const time = 1000 + i * 10;
          if (!s) s = { start: time - 5, v: 0, done: 0 };
          else if (r.reset) s = { start: time - 5, v: 0, done: s.done + s.v };
          s.v += r.step;
          state.set(k, s);
          // A cumulative series is one per attribute set: its prompt.id does not change from point to point.
          return { session: r.session, tool: r.tool, prompt: `p-${k}`, i, start: s.start, time, v: s.v };
        });
        const outs = run(split(pts, cuts).map((chunk) => req(2, chunk)));
        const bySeries = new Map<string, Json[]>();
        for (const o of outs) {
          assert.equal(new Set(o.map((p) => p.series)).size, o.length);
          for (const p of o) bySeries.set(p.series, [...(bySeries.get(p.series) ?? []), p]);
        }
        for (const list of bySeries.values()) {
          assert.equal(new Set(list.map((p) => p.startTimeUnixNano)).size, 1);
          for (let i = 1; i < list.length; i++) assert.ok(BigInt(list[i].asInt) >= BigInt(list[i - 1].asInt));
        }
        for (const t of ['Bash', 'Read']) {
          const want = [...state].filter(([k]) => k.endsWith('/' + t)).reduce((a, [, s]) => a + s.done + s.v, 0);
          const list = [...bySeries.values()].find((l) => attr(l[0].attributes, 'tool') === t);
          if (want > 0 || list) assert.equal(Number(list!.at(-1)!.asInt), want, t);
        }
      },
    ),
    { numRuns: 150 },
  );
});
