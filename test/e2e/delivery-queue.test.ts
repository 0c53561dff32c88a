// Sending queues of a real relay process against backends that hang:
//  - fan-out to a healthy exporter and one whose backend never answers: the healthy
//    backend receives every record sent while the other hangs (a count), the
//    senders get 503 + Retry-After once the hanging exporter's queue is full, and
//    the items the healthy exporter took from refused requests are counted as
//    duplicate risk;
//  - one exporter per `when_full` policy, each with a 2-request queue behind a hung
//    backend: `refuse` answers HTTP 503 with Retry-After and gRPC UNAVAILABLE with
//    RetryInfo; `drop_newest` and `drop_oldest` answer success, count the drops, and
//    once the backend recovers it gets exactly what each policy kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { counterValue, freePort, startRelay, waitFor, type RunningRelay } from '../helpers/relay-process';
import { jsonStatus, logsJson, logsProto, postJson, RecordingBackend, retryDelayOf, unary } from './delivery-helpers';

let relay: RunningRelay;
const healthy = new RecordingBackend();
const hanging = new RecordingBackend();
const policies = ['refuse', 'drop_newest', 'drop_oldest'] as const;
const ports: Record<string, { http: number; grpc: number }> = {};
let fanPort: number;
const clients: grpc.Client[] = [];

before(async () => {
  await healthy.listen();
  await hanging.listen();
  hanging.respond = () => 'hang';
  fanPort = await freePort();
  for (const p of policies) ports[p] = { http: await freePort(), grpc: await freePort() };
  const receivers = policies
    .map(
      (p) => `
  otlp/${p}:
    protocols:
      http: {endpoint: 127.0.0.1:${ports[p].http}}
      grpc: {endpoint: 127.0.0.1:${ports[p].grpc}}`,
    )
    .join('');
  const exporters = policies
    .map(
      (p) => `
  otlphttp/${p}:
    endpoint: http://127.0.0.1:${hanging.port}
    encoding: json
    compression: none
    timeout: 60s
    sending_queue: {queue_size: 2, num_consumers: 1, when_full: ${p}}`,
    )
    .join('');
  const pipelines = policies
    .map(
      (p) => `
    logs/${p}:
      receivers: [otlp/${p}]
      exporters: [otlphttp/${p}]`,
    )
    .join('');
  relay = await startRelay(`
receivers:
  otlp/fan:
    protocols:
      http: {endpoint: 127.0.0.1:${fanPort}}${receivers}
exporters:
  otlphttp/healthy:
    endpoint: http://127.0.0.1:${healthy.port}
    encoding: json
  otlphttp/hanging:
    endpoint: http://127.0.0.1:${hanging.port}
    encoding: json
    timeout: 60s
    sending_queue: {queue_size: 5, num_consumers: 1}${exporters}
service:
  pipelines:
    logs/fan:
      receivers: [otlp/fan]
      exporters: [otlphttp/healthy, otlphttp/hanging]${pipelines}
`);
});

after(async () => {
  for (const c of clients) c.close();
  hanging.release();
  if (relay) {
    const code = await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, relay.output());
  }
  await healthy.close();
  await hanging.close();
});

const metric = async (name: string, labels: Record<string, string>) => counterValue(await relay.metrics(), name, labels);

test('fan-out: the healthy backend gets every record while the other one hangs', async () => {
  const N = 40;
  const PER = 3;
  const statuses: number[] = [];
  const all: string[] = [];
  let refusedItems = 0;
  for (let i = 0; i < N; i++) {
    const ids = Array.from({ length: PER }, (_, j) => `fan-${i}-${j}`);
    all.push(...ids);
    const r = await postJson(fanPort, 'logs', logsJson(ids));
    statuses.push(r.status);
    if (r.status === 503) {
      refusedItems += PER;
      assert.ok(Number(r.headers['retry-after']) >= 1, 'a 503 says when to come back');
      assert.match(jsonStatus(r.body).message, /sending queue is full/);
    } else {
      assert.equal(r.status, 200, r.body);
    }
  }
  await waitFor(() => all.every((id) => healthy.has(id)), 10000, 'every record at the healthy backend');
  assert.equal(healthy.unique, N * PER);
  assert.equal(healthy.duplicates, 0);
  // One request in flight at the hanging backend and five queued were taken; the rest refused.
  assert.deepEqual(statuses.slice(0, 6), [200, 200, 200, 200, 200, 200]);
  assert.ok(statuses.slice(6).every((s) => s === 503), statuses.join());
  assert.equal(hanging.unique, 0);
  assert.equal(await metric('agentrelay_receiver_duplicate_risk_items_total', { component: 'otlp/fan', signal: 'logs' }), refusedItems);
  assert.equal(await metric('agentrelay_exporter_refused_items_total', { component: 'otlphttp/hanging', reason: 'queue_full' }), refusedItems);
  assert.equal(await metric('agentrelay_exporter_queue_size', { component: 'otlphttp/hanging', signal: 'logs' }), 5);
  assert.equal(await metric('agentrelay_exporter_queue_capacity', { component: 'otlphttp/hanging', signal: 'logs' }), 5);
});

/** Sends 4 HTTP requests then 3 gRPC requests of one record each to a policy's receiver. */
async function flood(policy: (typeof policies)[number]) {
  const httpAnswers: { status: number; retryAfter?: string; message: string }[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await postJson(ports[policy].http, 'logs', logsJson([`${policy}-${i}`]));
    httpAnswers.push({ status: r.status, retryAfter: r.headers['retry-after'] as string | undefined, message: r.body });
  }
  const client = new grpc.Client(`127.0.0.1:${ports[policy].grpc}`, grpc.credentials.createInsecure());
  clients.push(client);
  const grpcAnswers: { code: number; delay?: number }[] = [];
  for (let i = 4; i < 7; i++) {
    const { err } = await unary(client, logsProto([`${policy}-${i}`]));
    grpcAnswers.push({ code: err?.code ?? grpc.status.OK, delay: err ? retryDelayOf(err) : undefined });
  }
  return { httpAnswers, grpcAnswers };
}

test('when_full: refuse answers 503 + Retry-After and UNAVAILABLE + RetryInfo', async () => {
  const { httpAnswers, grpcAnswers } = await flood('refuse');
  // 1 in flight, 2 queued, then refused.
  assert.deepEqual(httpAnswers.map((a) => a.status), [200, 200, 200, 503]);
  assert.ok(Number(httpAnswers[3].retryAfter) >= 1);
  for (const a of grpcAnswers) {
    assert.equal(a.code, grpc.status.UNAVAILABLE);
    assert.ok(a.delay !== undefined && a.delay >= 1000, `RetryInfo delay ${a.delay}`);
  }
  assert.equal(await metric('agentrelay_exporter_refused_items_total', { component: 'otlphttp/refuse', reason: 'queue_full' }), 4);
  assert.equal(await metric('agentrelay_receiver_refused_items_total', { component: 'otlp/refuse', reason: 'retryable' }), 4);
});

test('when_full: drop_newest and drop_oldest answer success and count the drops', async () => {
  for (const p of ['drop_newest', 'drop_oldest'] as const) {
    const { httpAnswers, grpcAnswers } = await flood(p);
    assert.deepEqual(httpAnswers.map((a) => a.status), [200, 200, 200, 200], p);
    assert.deepEqual(grpcAnswers.map((a) => a.code), [0, 0, 0], p);
    assert.equal(await metric('agentrelay_exporter_dropped_items_total', { component: `otlphttp/${p}`, reason: 'queue_full' }), 4, p);
    assert.equal(await metric('agentrelay_receiver_refused_items_total', { component: `otlp/${p}` }), 0, p);
  }
});

test('after the backend recovers it gets exactly what each policy kept', async () => {
  hanging.release();
  const kept: Record<string, string[]> = {
    refuse: ['refuse-0', 'refuse-1', 'refuse-2'],
    drop_newest: ['drop_newest-0', 'drop_newest-1', 'drop_newest-2'],
    drop_oldest: ['drop_oldest-0', 'drop_oldest-5', 'drop_oldest-6'],
  };
  const want = Object.values(kept).flat();
  await waitFor(() => want.every((id) => hanging.has(id)), 10000, 'kept records delivered');
  for (const p of policies) {
    for (let i = 0; i < 7; i++) {
      const id = `${p}-${i}`;
      assert.equal(hanging.has(id), kept[p].includes(id), `${id} delivered: ${hanging.has(id)}`);
    }
  }
});
