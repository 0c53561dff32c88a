// The live tap of a real relay process (service.telemetry.tap.endpoint) and the
// `agentrelay tap` command: the tap points of the running pipelines, a stream of what
// leaves a receiver, a processor, a connector (per output pipeline) and what reaches an
// exporter, the one-line-per-record summary, and the errors a user meets (unknown
// component, tap turned off).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { CLI, freePort, startRelay, waitFor, type RunningRelay } from '../helpers/relay-process';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { TapHub } from '../../src/tap/hub';
import { Batch } from '../../src/otlp/batch';
import type { TapPoint } from '../../src/pipeline/graph';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CLAUDE_LOGS = fs.readFileSync(path.join(FIXTURES_DIR, 'claude-code/tool-call/01-logs.json'));

let relay: RunningRelay;
let httpPort: number;
let tapPort: number;

before(async () => {
  httpPort = await freePort();
  tapPort = await freePort();
  relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
processors:
  batch:
    timeout: 10ms
connectors:
  routing/audit:
    table:
      - condition: {event: tool_decision}
        pipelines: [logs/audit]
    default_pipelines: [logs/main]
exporters:
  file/audit: {path: audit.jsonl}
  file/main: {path: main.jsonl}
service:
  pipelines:
    logs/in: {receivers: [otlp], processors: [batch], exporters: [routing/audit]}
    logs/audit: {receivers: [routing/audit], exporters: [file/audit]}
    logs/main: {receivers: [routing/audit], exporters: [file/main]}
  telemetry:
    logs: {format: json}
    health: {endpoint: 127.0.0.1:HEALTH}
    metrics: {address: 127.0.0.1:METRICS}
    tap: {endpoint: 127.0.0.1:${tapPort}}
`);
});

after(async () => {
  if (relay) {
    await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
  }
});

async function postClaude(): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: CLAUDE_LOGS });
  await r.arrayBuffer();
  assert.equal(r.status, 200);
}

function events(data: Json): string[] {
  const out: string[] = [];
  for (const rl of data.resourceLogs ?? [])
    for (const sl of rl.scopeLogs ?? [])
      for (const lr of sl.logRecords ?? []) out.push(lr.attributes.find((a: Json) => a.key === 'event.name')?.value.stringValue);
  return out;
}

/** Runs `agentrelay tap ARGS` until it exits, posting the fixture every 200 ms so the stream has something to show. */
async function tap(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const proc = spawn(process.execPath, [CLI, 'tap', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 10000;
  while (!done && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    if (!done) await postClaude();
  }
  if (!done) proc.kill('SIGKILL');
  return { code: await exited, out, err };
}

test('GET /tap lists the tap points of the running pipelines', async () => {
  const body = (await (await fetch(`http://127.0.0.1:${tapPort}/tap`)).json()) as { points: Json[] };
  const points = body.points.map((p) => `${p.kind} ${p.component} ${p.pipeline}`).sort();
  assert.deepEqual(points, [
    'connector routing/audit logs/audit',
    'connector routing/audit logs/main',
    'exporter file/audit logs/audit',
    'exporter file/main logs/main',
    'processor batch logs/in',
    'receiver otlp ',
  ]);
});

test('a connector tapped for one output pipeline shows only what it routes there', async () => {
  const r = await tap(['--address', `127.0.0.1:${tapPort}`, '--component', 'routing/audit', '--pipeline', 'logs/audit', '--limit', '1']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Json);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].component, 'routing/audit');
  assert.equal(lines[0].kind, 'connector');
  assert.equal(lines[0].pipeline, 'logs/audit');
  assert.equal(lines[0].signal, 'logs');
  assert.deepEqual(events(lines[0].data), ['tool_decision']);
  assert.equal(lines[0].items, 1);
});

test('the receiver and the batch processor: everything the agent sent, record for record', async () => {
  const r = await tap(['--address', `127.0.0.1:${tapPort}`, '--component', 'otlp', '--limit', '1']);
  assert.equal(r.code, 0, r.err);
  const line = JSON.parse(r.out.trim()) as Json;
  assert.equal(line.kind, 'receiver');
  const sent = events(JSON.parse(CLAUDE_LOGS.toString('utf8')));
  assert.deepEqual(events(line.data), sent);

  const b = await tap(['--address', `127.0.0.1:${tapPort}`, '--component', 'batch', '--limit', '1', '--summary']);
  assert.equal(b.code, 0, b.err);
  const summary = b.out.trim().split('\n');
  // The batch may have joined several requests; each record is one line, in order.
  assert.ok(summary.length >= sent.length && summary.length % sent.length === 0, b.out);
  assert.match(summary[0], /^\d{4}-\d\d-\d\dT\S+ {2}batch \(logs\/in\) {2}logs {2}claude-code {2}event=api_request$/);
  assert.deepEqual(summary.slice(0, sent.length).map((l) => l.split('event=')[1]), sent);
});

test('--config finds the tap; unknown components and a tap that is off are explained', async () => {
  const cfg = path.join(relay.dir, 'relay.yaml');
  const r = await tap(['--config', cfg, '--component', 'file/main', '--limit', '1']);
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out.trim()) as Json).kind, 'exporter');
  assert.ok(!events((JSON.parse(r.out.trim()) as Json).data).includes('tool_decision'));

  const unknown = spawnSync(process.execPath, [CLI, 'tap', '--config', cfg, '--component', 'filter/nope'], { encoding: 'utf8' });
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no tap point for component "filter\/nope"/);
  assert.match(unknown.stderr, /batch {2}processor {2}logs\/in {2}logs/);

  const off = path.join(relay.dir, 'off.yaml');
  fs.writeFileSync(off, 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice:\n  pipelines:\n    logs: {receivers: [otlp], exporters: [debug]}\n');
  const o = spawnSync(process.execPath, [CLI, 'tap', '--config', off, '--component', 'debug'], { encoding: 'utf8' });
  assert.equal(o.status, 1);
  assert.match(o.stderr, /the tap is off in .*off\.yaml: set service\.telemetry\.tap\.endpoint/);

  const usage = spawnSync(process.execPath, [CLI, 'tap', '--component', 'x'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
});

test('a watcher that stops reading never holds up the pipeline', async () => {
  // A stream on the file exporter that nobody reads (about 12 MB goes through it).
  const req = http.get(`http://127.0.0.1:${tapPort}/tap?component=file/main`);
  const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
  assert.equal(res.statusCode, 200);
  res.pause();
  const main = path.join(relay.dir, 'main.jsonl');
  const records = () => {
    let n = 0;
    for (const line of fs.readFileSync(main, 'utf8').split('\n').filter(Boolean)) n += events(JSON.parse(line) as Json).length;
    return n;
  };
  const before = records();
  const N = 1500;
  const posts: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    posts.push(postClaude());
    if (posts.length === 20) await Promise.all(posts.splice(0));
  }
  await Promise.all(posts);
  // Every record except the tool decision (routed to the audit file) reaches main.jsonl.
  await waitFor(() => records() === before + N * 7, 10000, 'every record in main.jsonl');
  req.destroy();
});

test('the tap hub: a full watcher loses batches and is told how many once it takes lines again', () => {
  const hub = new TapHub();
  const points: TapPoint[] = [];
  const sink = { consume: async () => undefined };
  const wrapped = hub.observer(points)({ component: 'batch', kind: 'processor', pipeline: 'logs', signal: 'logs' }, sink);
  const lines: string[] = [];
  let full = false;
  const stop = hub.watch({ component: 'batch' }, (line) => {
    if (full) return false;
    lines.push(line);
    return true;
  });
  const batch = () => Batch.fromJsonObject('logs', JSON.parse(CLAUDE_LOGS.toString('utf8')));
  void wrapped.consume(batch());
  full = true;
  void wrapped.consume(batch());
  void wrapped.consume(batch());
  full = false;
  void wrapped.consume(batch());
  stop();
  void wrapped.consume(batch());
  assert.equal(lines.length, 3);
  assert.equal((JSON.parse(lines[0]) as Json).items, 8);
  assert.equal((JSON.parse(lines[1]) as Json).dropped_batches, 2);
  assert.equal((JSON.parse(lines[2]) as Json).items, 8);
  assert.equal(hub.isWatched('batch'), false);
});
