// Metric shaping with a real relay process:
//
//   POST /v1/metrics (one request per agent session) --> otlp --> batch --> cardinality --> file merged.jsonl
//   POST /v1/logs                                    --> otlp ---------------------------> file logs.jsonl
//   POST /v1/metrics (delta stream)                  --> otlp/d2c --> deltatocumulative --> file cumulative.jsonl
//
// Claude Code (delta) and Gemini CLI (cumulative) metrics replayed as hundreds of
// sessions, with a prompt.id on every point, must come out as one series per
// remaining attribute set with exactly the totals that went in; the Claude Code and
// Codex delta streams must come out as running sums with fixed start times; logs keep
// their prompt.id; and the relay refuses the processors in a logs pipeline.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, counterValue, freePort, readJsonLines, startRelay, waitFor, type RunningRelay } from '../helpers/relay-process';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { attr, clone, fixtureJson, flatten, seriesOf, setAttr, type FlatPoint, type Json } from '../../processors/cardinality/testing';

for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) delete process.env[k];

let relay: RunningRelay;
let port: number;
let d2cPort: number;

before(async () => {
  port = await freePort();
  d2cPort = await freePort();
  relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
  otlp/d2c:
    protocols:
      http:
        endpoint: 127.0.0.1:${d2cPort}
processors:
  batch:
    timeout: 300ms
  cardinality: {}
  deltatocumulative: {}
exporters:
  file/merged:
    path: merged.jsonl
  file/logs:
    path: logs.jsonl
  file/cumulative:
    path: cumulative.jsonl
service:
  pipelines:
    metrics:
      receivers: [otlp]
      processors: [batch, cardinality]
      exporters: [file/merged]
    logs:
      receivers: [otlp]
      exporters: [file/logs]
    metrics/d2c:
      receivers: [otlp/d2c]
      processors: [deltatocumulative]
      exporters: [file/cumulative]
`);
});

after(async () => {
  if (relay) {
    const code = await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, relay.output());
  }
});

async function post(p: number, signal: string, body: Json): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${p}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.text());
}

const POINT_KEYS = new Set(['prompt.id', 'prompt_id', 'session.id', 'installation.id']);
const RESOURCE_KEYS = new Set(['session.id', 'installation.id', 'process.pid']);

/** The series a point must land in: its identity without the keys the defaults remove. */
function mergedSeries(f: FlatPoint): string {
  return seriesOf({
    ...f,
    resource: f.resource.filter((a) => !RESOURCE_KEYS.has(a.key)),
    point: { ...f.point, attributes: (f.point.attributes ?? []).filter((a: Json) => !POINT_KEYS.has(a.key)) },
  });
}

/** A recorded request replayed as session i: new session.id, installation.id and pid, and a prompt.id on each point. */
function asSession(req: Json, i: number, scale = 1, timeShiftMs = 0): Json {
  const r = clone(req);
  for (const rm of r.resourceMetrics) {
    const ra = rm.resource?.attributes ?? [];
    if (attr(ra, 'session.id') !== undefined) setAttr(ra, 'session.id', { stringValue: `session-${i}` });
    if (attr(ra, 'process.pid') !== undefined) setAttr(ra, 'process.pid', { intValue: 20000 + i });
  }
  flatten([r]).forEach((f, n) => {
    const p = f.point;
    if (attr(p.attributes, 'session.id') !== undefined) setAttr(p.attributes, 'session.id', { stringValue: `session-${i}` });
    if (attr(p.attributes, 'installation.id') !== undefined) setAttr(p.attributes, 'installation.id', { stringValue: `install-${i}` });
    p.attributes.push({ key: 'prompt.id', value: { stringValue: `prompt-${i}-${n % 4}` } });
    p.timeUnixNano = String(BigInt(p.timeUnixNano) + BigInt(timeShiftMs) * 1_000_000n);
    if (scale !== 1) {
      if (p.asInt !== undefined) p.asInt = String(BigInt(p.asInt) * BigInt(scale));
      if (p.bucketCounts) {
        p.count = String(BigInt(p.count) * BigInt(scale));
        p.bucketCounts = p.bucketCounts.map((c: string | number) => String(BigInt(c) * BigInt(scale)));
        p.sum = p.sum * scale;
      }
    }
  });
  return r;
}

/** Output points of the merged file for the metrics of one agent. */
function mergedOutput(prefix: string): { perRequest: FlatPoint[][]; all: FlatPoint[] } {
  const lines = readJsonLines(path.join(relay.dir, 'merged.jsonl')).filter((l) => l.resourceMetrics);
  const perRequest = lines.map((l) => flatten([l]).filter((f) => f.name.startsWith(prefix)));
  return { perRequest, all: perRequest.flat() };
}

const numberValue = (p: Json): bigint | number => (p.asInt !== undefined ? BigInt(p.asInt) : Number(p.asDouble));

test('Claude Code, 300 sessions (delta): one series per remaining attribute set, totals as sent', async () => {
  const names = ['claude-code/tool-call/02-metrics.json', 'claude-code/tool-call-2/02-metrics.json', 'claude-code/protobuf/02-metrics.pb'];
  const sessions = Array.from({ length: 300 }, (_, i) => asSession(fixtureJson(names[i % 3]), i));
  for (let i = 0; i < sessions.length; i += 30) await Promise.all(sessions.slice(i, i + 30).map((s) => post(port, 'metrics', s)));
  const input = flatten(sessions);
  await waitFor(() => mergedOutput('claude_code.').all.length > 0 && sumOf(mergedOutput('claude_code.').all, 'claude_code.session.count') === 300, 15_000, 'all sessions counted');

  const { perRequest, all } = mergedOutput('claude_code.');
  for (const req of perRequest) assert.equal(new Set(req.map(seriesOf)).size, req.length, 'a request holds one point per series');
  for (const f of all) for (const a of f.point.attributes ?? []) assert.ok(!POINT_KEYS.has(a.key), `${a.key} on ${f.name}`);

  const want = new Set(input.map(mergedSeries));
  const got = new Set(all.map(seriesOf));
  assert.deepEqual([...got].sort(), [...want].sort(), 'one series per remaining attribute set');
  assert.ok(got.size <= 40, `${got.size} series for 300 sessions`);
  assert.ok(all.length < input.length / 10, `${all.length} points out for ${input.length} in`);

  for (const name of new Set(input.map((f) => f.name))) {
    const ins = input.filter((f) => f.name === name).map((f) => Number(f.point.asDouble));
    const outs = all.filter((f) => f.name === name).map((f) => Number(f.point.asDouble));
    const sumIn = ins.reduce((a, b) => a + b, 0);
    const sumOut = outs.reduce((a, b) => a + b, 0);
    if (ins.every(Number.isInteger)) assert.equal(sumOut, sumIn, name);
    else assert.ok(Math.abs(sumOut - sumIn) <= Math.abs(sumIn) * 1e-12, `${name}: ${sumOut} vs ${sumIn}`);
  }

  // Points of one series from different batches never overlap (a backend or a later deltatocumulative keeps them all).
  const bySeries = new Map<string, Json[]>();
  for (const f of all) bySeries.set(seriesOf(f), [...(bySeries.get(seriesOf(f)) ?? []), f.point]);
  for (const [s, pts] of bySeries) {
    pts.sort((a, b) => (BigInt(a.timeUnixNano) < BigInt(b.timeUnixNano) ? -1 : 1));
    for (let i = 1; i < pts.length; i++) assert.ok(BigInt(pts[i].startTimeUnixNano) >= BigInt(pts[i - 1].timeUnixNano), `windows overlap on ${s}`);
  }

  const text = await relay.metrics();
  assert.equal(counterValue(text, 'agentrelay_processor_dropped_items_total', { component: 'cardinality', reason: 'merged' }), input.length - all.length);
  assert.equal(counterValue(text, 'agentrelay_cardinality_overflow_points_total'), 0);
});

function sumOf(points: FlatPoint[], name: string): number {
  return points.filter((f) => f.name === name).reduce((a, f) => a + Number(f.point.asDouble ?? f.point.asInt), 0);
}

test('Gemini CLI, 200 sessions (cumulative, two exports each): monotonic merged series whose last value is the sum of the sessions', async () => {
  const base = fixtureJson('gemini-cli/interactive/03-metrics.json');
  const sessions = 200;
  const finals: FlatPoint[] = [];
  for (const k of [1, 2]) {
    const reqs = Array.from({ length: sessions }, (_, i) => asSession(base, i, k, k * 10_000 + i));
    if (k === 2) finals.push(...flatten(reqs));
    for (let i = 0; i < reqs.length; i += 25) await Promise.all(reqs.slice(i, i + 25).map((r) => post(port, 'metrics', r)));
  }
  const last = () => {
    const m = new Map<string, Json>();
    for (const f of mergedOutput('gemini_cli.').all.concat(mergedOutput('gen_ai.').all)) {
      const prev = m.get(seriesOf(f));
      if (!prev || BigInt(f.point.timeUnixNano) > BigInt(prev.timeUnixNano)) m.set(seriesOf(f), f.point);
    }
    return m;
  };
  const sessionsCounted = () => [...last().entries()].filter(([k]) => k.includes('gemini_cli.session.count')).reduce((a, [, p]) => a + Number(p.asInt), 0);
  await waitFor(() => sessionsCounted() === sessions * 2, 15_000, 'every session counted twice over');

  const expected = new Map<string, Json[]>();
  for (const f of finals) expected.set(mergedSeries(f), [...(expected.get(mergedSeries(f)) ?? []), f.point]);
  const outs = mergedOutput('gemini_cli.').all.concat(mergedOutput('gen_ai.').all);
  const bySeries = new Map<string, Json[]>();
  for (const f of outs) bySeries.set(seriesOf(f), [...(bySeries.get(seriesOf(f)) ?? []), f.point]);
  assert.deepEqual([...bySeries.keys()].sort(), [...expected.keys()].sort(), 'one series per remaining attribute set');

  for (const [s, pts] of bySeries) {
    pts.sort((a, b) => (BigInt(a.timeUnixNano) < BigInt(b.timeUnixNano) ? -1 : 1));
    assert.equal(new Set(pts.map((p) => p.startTimeUnixNano)).size, 1, `start moved on ${s}`);
    const v = pts.map((p) => (p.count !== undefined ? BigInt(p.count) : BigInt(p.asInt)));
    for (let i = 1; i < v.length; i++) assert.ok(v[i] >= v[i - 1], `${s} went down`);
    const want = expected.get(s)!;
    const final = pts[pts.length - 1];
    if (final.count !== undefined) {
      assert.equal(BigInt(final.count), want.reduce((a, p) => a + BigInt(p.count), 0n), s);
      const buckets = want.reduce((acc: bigint[], p) => p.bucketCounts.map((c: string, i: number) => (acc[i] ?? 0n) + BigInt(c)), []);
      assert.deepEqual(final.bucketCounts.map(BigInt), buckets, s);
      const sumIn = want.reduce((a, p) => a + p.sum, 0);
      assert.ok(Math.abs(final.sum - sumIn) <= Math.abs(sumIn) * 1e-12, `${s}: ${final.sum} vs ${sumIn}`);
    } else {
      assert.equal(BigInt(final.asInt), want.reduce((a, p) => a + BigInt(p.asInt), 0n), s);
    }
  }
});

test('logs keep prompt.id and session.id: the metric processors touch metrics only', async () => {
  const logs = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, 'claude-code/tool-call/01-logs.json'), 'utf8')) as Json;
  await post(port, 'logs', logs);
  const records = () => readJsonLines(path.join(relay.dir, 'logs.jsonl')).flatMap((l) => ((l.resourceLogs ?? []) as Json[]).flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords)));
  await waitFor(() => records().length > 0, 10_000, 'the logs');
  const prompts = records().filter((r: Json) => attr(r.attributes, 'prompt.id') !== undefined);
  assert.ok(prompts.length > 0, 'prompt.id is still on events');
  assert.ok(records().every((r: Json) => attr(r.attributes, 'session.id') !== undefined));
});

/** Export k of a recorded delta request: the window after the previous one, every value times (k + 1). */
function deltaWindow(req: Json, k: number): Json {
  const r = clone(req);
  for (const f of flatten([r])) {
    const p = f.point;
    const end = BigInt(p.timeUnixNano) + BigInt(k) * 10_000_000_000n;
    if (k > 0) p.startTimeUnixNano = String(end - 10_000_000_000n);
    p.timeUnixNano = String(end);
    if (p.asInt !== undefined) p.asInt = String(BigInt(p.asInt) * BigInt(k + 1));
    if (p.asDouble !== undefined) p.asDouble = p.asDouble * (k + 1);
    if (p.bucketCounts) {
      p.count = String(BigInt(p.count) * BigInt(k + 1));
      p.bucketCounts = p.bucketCounts.map((c: string | number) => String(BigInt(c) * BigInt(k + 1)));
      p.sum = p.sum * (k + 1);
    }
  }
  return r;
}

test('deltatocumulative: Claude Code and Codex delta streams come out as running sums with fixed start times', async () => {
  const names = ['claude-code/tool-call/02-metrics.json', 'claude-code/tool-call-2/02-metrics.json', 'codex/exec/03-metrics.json', 'codex/tui/06-metrics.json'];
  const inputs: Json[] = [];
  for (let k = 0; k < 4; k++)
    for (const n of names) {
      const r = deltaWindow(fixtureJson(n), k);
      inputs.push(r);
      await post(d2cPort, 'metrics', r); // in order: a stream's windows must arrive one after the other
    }
  const inPts = flatten(inputs);
  const file = path.join(relay.dir, 'cumulative.jsonl');
  await waitFor(() => flatten(readJsonLines(file)).length >= inPts.length, 15_000, 'every point converted');
  const outPts = flatten(readJsonLines(file));
  assert.equal(outPts.length, inPts.length);

  const running = new Map<string, { v: bigint | number; count: bigint; buckets: bigint[]; start: string }>();
  const expectedBySeries = new Map<string, Json[]>();
  for (const f of inPts) {
    const key = seriesOf(f);
    const r = running.get(key) ?? { v: f.point.asInt !== undefined ? 0n : 0, count: 0n, buckets: [], start: f.point.startTimeUnixNano };
    if (f.point.asInt !== undefined) r.v = (r.v as bigint) + BigInt(f.point.asInt);
    if (f.point.asDouble !== undefined) r.v = (r.v as number) + f.point.asDouble;
    if (f.point.bucketCounts) {
      r.count += BigInt(f.point.count);
      r.buckets = f.point.bucketCounts.map((c: string, j: number) => (r.buckets[j] ?? 0n) + BigInt(c));
    }
    running.set(key, r);
    expectedBySeries.set(key, [...(expectedBySeries.get(key) ?? []), { v: r.v, count: r.count, buckets: r.buckets, start: r.start, time: f.point.timeUnixNano }]);
  }
  const gotBySeries = new Map<string, FlatPoint[]>();
  for (const f of outPts) gotBySeries.set(seriesOf(f), [...(gotBySeries.get(seriesOf(f)) ?? []), f]);
  assert.deepEqual([...gotBySeries.keys()].sort(), [...expectedBySeries.keys()].sort());
  let histograms = 0;
  for (const [key, want] of expectedBySeries) {
    const got = gotBySeries.get(key)!;
    assert.equal(got.length, want.length, key);
    got.forEach((f, i) => {
      const w = want[i];
      assert.equal(f.temporality, 2);
      assert.equal(f.point.startTimeUnixNano, w.start, `start of ${key}`);
      assert.equal(f.point.timeUnixNano, w.time);
      if (f.point.bucketCounts) {
        histograms++;
        assert.equal(BigInt(f.point.count), w.count);
        assert.deepEqual(f.point.bucketCounts.map(BigInt), w.buckets);
      } else if (typeof w.v === 'bigint') assert.equal(numberValue(f.point), w.v, key);
      else assert.ok(Math.abs(Number(f.point.asDouble) - w.v) <= Math.abs(w.v) * 1e-15, `${key}: ${f.point.asDouble} vs ${w.v}`);
    });
  }
  assert.ok(histograms > 100, 'Codex histograms were converted');
});

test('validate: the metric processors in a logs pipeline are a configuration error naming the pipeline', () => {
  const file = path.join(relay.dir, 'bad.yaml');
  fs.writeFileSync(
    file,
    ['receivers:', '  otlp: {}', 'processors:', '  cardinality: {}', '  cumulativetodelta: {}', 'exporters:', '  debug: {}', 'service:', '  pipelines:', '    logs:', '      receivers: [otlp]', '      processors: [cardinality, cumulativetodelta]', '      exporters: [debug]', ''].join('\n'),
  );
  const r = spawnSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 15_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /processor "cardinality" does not handle logs/);
  assert.match(r.stderr, /processor "cumulativetodelta" does not handle logs/);
});
