// Fan-out and pipeline isolation with a real relay process:
//  - one logs pipeline exporting to a live backend (otlphttp/up -> a node:http server
//    that records what it gets) and to a closed port (otlphttp/down, short retries):
//    the live backend gets every record, exactly once, while the other is down;
//  - a second pipeline fed by the same receiver, with a routing connector that sends
//    {event: tool_decision} records to logs/audit (file A) and the rest to logs/main
//    (file B): each file holds exactly its records, and the first pipeline still sees
//    the recorded Claude Code request unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { counterValue, freePort, readJsonLines, startRelay, waitFor, type RunningRelay } from '../helpers/relay-process';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { firstDifference } from '../helpers/otlp-compare';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FIXTURE = path.join(FIXTURES_DIR, 'claude-code/tool-call/01-logs.json');
const N = 20;
const PER_REQUEST = 5;

let relay: RunningRelay;
let backend: http.Server;
let httpPort: number;
/** Every request body the live backend got (already gunzipped and parsed). */
const received: Json[] = [];
const receivedHeaders: http.IncomingHttpHeaders[] = [];

function startBackend(): Promise<number> {
  backend = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      receivedHeaders.push(req.headers);
      received.push(JSON.parse(body.toString('utf8')) as Json);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  return new Promise((resolve) => backend.listen(0, '127.0.0.1', () => resolve((backend.address() as net.AddressInfo).port)));
}

interface Rec {
  resource: Json;
  scope: Json;
  record: Json;
}

function recordsOf(requests: Json[]): Rec[] {
  const out: Rec[] = [];
  for (const r of requests)
    for (const rl of r.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) out.push({ resource: rl.resource ?? {}, scope: sl.scope ?? {}, record: lr });
  return out;
}

const attr = (rec: Json, key: string): unknown => {
  const v = (rec.attributes ?? []).find((a: Json) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue;
};
const bodyOf = (r: Rec) => r.record.body?.stringValue as string | undefined;

function post(body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: httpPort, method: 'POST', path: '/v1/logs', headers: { 'content-type': 'application/json' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  const upPort = await startBackend();
  const downPort = await freePort(); // nothing listens there
  httpPort = await freePort();
  relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
connectors:
  routing/audit:
    table:
      - condition: {event: tool_decision}
        pipelines: [logs/audit]
    default_pipelines: [logs/main]
exporters:
  otlphttp/up:
    endpoint: http://127.0.0.1:${upPort}
    encoding: json
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 200ms
      max_elapsed_time: 5s
  otlphttp/down:
    endpoint: http://127.0.0.1:${downPort}
    timeout: 1s
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 100ms
      max_elapsed_time: 1s
  file/audit:
    path: audit.jsonl
  file/main:
    path: main.jsonl
service:
  pipelines:
    logs/fan:
      receivers: [otlp]
      exporters: [otlphttp/up, otlphttp/down]
    logs/in:
      receivers: [otlp]
      exporters: [routing/audit]
    logs/audit:
      receivers: [routing/audit]
      exporters: [file/audit]
    logs/main:
      receivers: [routing/audit]
      exporters: [file/main]
`);
});

after(async () => {
  if (relay) {
    const code = await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, relay.output());
  }
  await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
});

const metric = async (name: string, labels: Record<string, string>) => counterValue(await relay.metrics(), name, labels);

test(`fan-out: the live backend gets all ${N * PER_REQUEST} records exactly once while the other exporter's backend is down`, async () => {
  const sent: string[] = [];
  for (let i = 0; i < N; i++) {
    const bodies = Array.from({ length: PER_REQUEST }, (_, j) => `fan-${i}-${j}`);
    sent.push(...bodies);
    const req = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fanout-test' } }] },
          scopeLogs: [{ scope: { name: 'e2e' }, logRecords: bodies.map((b) => ({ timeUnixNano: String(1.7e18 + i), body: { stringValue: b } })) }],
        },
      ],
    };
    assert.equal(await post(Buffer.from(JSON.stringify(req))), 200, `request ${i}`);
  }
  const total = N * PER_REQUEST;

  const fanBodies = () => recordsOf(received).map(bodyOf).filter((b): b is string => !!b?.startsWith('fan-'));
  await waitFor(() => fanBodies().length >= total, 10_000, `${total} records at the live backend`);
  // Give a duplicate (a retry reaching the live backend again) the time to show up.
  await waitFor(async () => (await metric('agentrelay_exporter_failed_items_total', { component: 'otlphttp/down' })) >= total, 10_000, 'the down exporter to give up');
  assert.deepEqual(fanBodies().sort(), sent.sort(), 'every record once, none twice');
  assert.equal(receivedHeaders[0]['content-type'], 'application/json');
  assert.equal(receivedHeaders[0]['content-encoding'], 'gzip');

  // The relay's own account: all sent on one side, all failed (retries exhausted) on the other.
  assert.equal(await metric('agentrelay_exporter_sent_items_total', { component: 'otlphttp/up' }), total);
  assert.equal(await metric('agentrelay_exporter_sent_items_total', { component: 'otlphttp/down' }), 0);
  assert.equal(await metric('agentrelay_exporter_failed_items_total', { component: 'otlphttp/down', reason: 'retries_exhausted' }), total);
  assert.equal(await metric('agentrelay_exporter_failed_items_total', { component: 'otlphttp/up' }), 0);
  assert.equal(relay.proc.exitCode, null);
});

test('routing connector: tool_decision records go to file A only, the others to file B only; the other pipeline sees the request unchanged', async () => {
  const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Json;
  const all = recordsOf([fixture]);
  const decisions = all.filter((r) => attr(r.record, 'event.name') === 'tool_decision');
  const others = all.filter((r) => attr(r.record, 'event.name') !== 'tool_decision');
  assert.ok(decisions.length > 0 && others.length > 0, 'the fixture has both kinds of records');

  const beforeUp = received.length;
  assert.equal(await post(fs.readFileSync(FIXTURE)), 200);

  const fileA = path.join(relay.dir, 'audit.jsonl');
  const fileB = path.join(relay.dir, 'main.jsonl');
  const fixtureInB = () => recordsOf(readJsonLines(fileB)).filter((r) => !bodyOf(r)?.startsWith('fan-'));
  await waitFor(() => recordsOf(readJsonLines(fileA)).length >= decisions.length && fixtureInB().length >= others.length, 10_000, 'both files');

  // File A: exactly the tool_decision records, each as sent, with its resource and scope.
  const inA = recordsOf(readJsonLines(fileA));
  assert.equal(inA.length, decisions.length);
  inA.forEach((r, i) => {
    assert.equal(firstDifference(r.record, decisions[i].record), null, `audit record ${i}`);
    assert.equal(firstDifference(r.resource, decisions[i].resource), null, `audit resource ${i}`);
    assert.equal(firstDifference(r.scope, decisions[i].scope), null, `audit scope ${i}`);
  });

  // File B: every other record of the fixture, in order, and no tool_decision; plus the fan-out test's records.
  const inB = recordsOf(readJsonLines(fileB));
  assert.ok(!inB.some((r) => attr(r.record, 'event.name') === 'tool_decision'), 'no tool_decision in file B');
  const fromFixture = fixtureInB();
  assert.equal(fromFixture.length, others.length);
  fromFixture.forEach((r, i) => {
    assert.equal(firstDifference(r.record, others[i].record), null, `main record ${i}`);
    assert.equal(firstDifference(r.resource, others[i].resource), null, `main resource ${i}`);
  });
  assert.equal(inB.length - fromFixture.length, N * PER_REQUEST, 'the fan-out records went to the default pipeline');

  // Isolation: the routing split in logs/in did not change what logs/fan exported.
  await waitFor(() => received.length > beforeUp, 10_000, 'the fixture at the live backend');
  const upCopy = received.slice(beforeUp);
  assert.equal(upCopy.length, 1);
  assert.equal(firstDifference(upCopy[0], fixture), null, 'the live backend got the fixture request unchanged');

  const m = await relay.metrics();
  assert.equal(counterValue(m, 'agentrelay_connector_routed_items_total', { component: 'routing/audit', pipeline: 'logs/audit' }), decisions.length);
  assert.equal(counterValue(m, 'agentrelay_connector_routed_items_total', { component: 'routing/audit', pipeline: 'logs/main' }), others.length + N * PER_REQUEST);
  // Let the down exporter give up on the fixture too, so shutdown has nothing left to wait for.
  await waitFor(
    async () => (await metric('agentrelay_exporter_failed_items_total', { component: 'otlphttp/down' })) >= N * PER_REQUEST + all.length,
    10_000,
    'the down exporter to give up on the fixture',
  );
});
