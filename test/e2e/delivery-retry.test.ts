// Retry of a real relay process against backends on 127.0.0.1 that misbehave:
//  - the backend is down while agents send, then comes up: every acknowledged
//    item arrives; one answer is lost on the way (the backend took the data but
//    closed the connection), so that item arrives twice: duplicates are counted;
//  - HTTP 503 with Retry-After in seconds and 429 with Retry-After as an HTTP date:
//    the relay waits at least as asked (a lower bound), then delivers;
//    partial_success is counted and not retried;
//  - gRPC RESOURCE_EXHAUSTED with RetryInfo: the relay waits at least the delay;
//    UNAVAILABLE is retried; INVALID_ARGUMENT is dropped with one log line and counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { counterValue, freePort, startRelay, waitFor, type RunningRelay } from '../helpers/relay-process';
import { logsJson, postJson, RecordingBackend, taggedRequests } from './delivery-helpers';

let relay: RunningRelay;
const down = new RecordingBackend();
const flaky = new RecordingBackend();
let downPort: number;
const receiverPorts = { down: 0, flaky: 0, grpc: 0 };

// A gRPC logs backend whose answers the tests script.
type GrpcAnswer = { code: number; retryDelayMs?: number } | 'ok';
const grpcScript: GrpcAnswer[] = [];
const grpcAttempts: number[] = [];
const grpcServer = new grpc.Server();

function retryInfoDetails(code: number, delayMs: number): Buffer {
  const duration = protobuf.Writer.create().uint32(8).int64(Math.floor(delayMs / 1000)).uint32(16).int32((delayMs % 1000) * 1e6).finish();
  const retryInfo = protobuf.Writer.create().uint32(10).bytes(duration).finish();
  const any = protobuf.Writer.create().uint32(10).string('type.googleapis.com/google.rpc.RetryInfo').uint32(18).bytes(retryInfo).finish();
  return Buffer.from(protobuf.Writer.create().uint32(8).int32(code).uint32(18).string('slow down').uint32(26).bytes(any).finish());
}

async function startGrpcBackend(): Promise<number> {
  grpcServer.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
        requestStream: false,
        responseStream: false,
        requestDeserialize: (b: Buffer) => b,
        requestSerialize: (b: Buffer) => b,
        responseSerialize: () => Buffer.alloc(0),
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Export: (_call: grpc.ServerUnaryCall<Buffer, object>, cb: grpc.sendUnaryData<object>) => {
        grpcAttempts.push(Date.now());
        const a = grpcScript.shift() ?? 'ok';
        if (a === 'ok') return cb(null, {});
        const metadata = new grpc.Metadata();
        if (a.retryDelayMs !== undefined) metadata.set('grpc-status-details-bin', retryInfoDetails(a.code, a.retryDelayMs));
        cb({ code: a.code, details: 'scripted failure', metadata });
      },
    },
  );
  return new Promise((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
}

before(async () => {
  downPort = await freePort(); // the backend comes up here later
  const flakyPort = await flaky.listen();
  const grpcPort = await startGrpcBackend();
  receiverPorts.down = await freePort();
  receiverPorts.flaky = await freePort();
  receiverPorts.grpc = await freePort();
  const retry = 'retry_on_failure: {initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 60s}';
  relay = await startRelay(`
receivers:
  otlp/down:
    protocols: {http: {endpoint: 127.0.0.1:${receiverPorts.down}}}
  otlp/flaky:
    protocols: {http: {endpoint: 127.0.0.1:${receiverPorts.flaky}}}
  otlp/grpc:
    protocols: {http: {endpoint: 127.0.0.1:${receiverPorts.grpc}}}
exporters:
  otlphttp/down:
    endpoint: http://127.0.0.1:${downPort}
    encoding: json
    timeout: 2s
    ${retry}
  otlphttp/flaky:
    endpoint: http://127.0.0.1:${flakyPort}
    encoding: json
    compression: none
    sending_queue: {num_consumers: 1}
    ${retry}
  otlp/grpc:
    endpoint: http://127.0.0.1:${grpcPort}
    sending_queue: {num_consumers: 1}
    ${retry}
service:
  pipelines:
    logs/down: {receivers: [otlp/down], exporters: [otlphttp/down]}
    metrics/down: {receivers: [otlp/down], exporters: [otlphttp/down]}
    traces/down: {receivers: [otlp/down], exporters: [otlphttp/down]}
    logs/flaky: {receivers: [otlp/flaky], exporters: [otlphttp/flaky]}
    logs/grpc: {receivers: [otlp/grpc], exporters: [otlp/grpc]}
`);
});

after(async () => {
  if (relay) {
    const code = await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, relay.output());
  }
  await down.close().catch(() => undefined);
  await flaky.close();
  await new Promise<void>((r) => grpcServer.tryShutdown(() => r()));
});

const metric = async (name: string, labels: Record<string, string>) => counterValue(await relay.metrics(), name, labels);

test('backend down, then up: every acknowledged item arrives; duplicates are counted', async (t) => {
  const requests = taggedRequests('down', 24);
  const acknowledged: string[] = [];
  for (const r of requests) {
    const a = await postJson(receiverPorts.down, r.signal, r.body);
    assert.equal(a.status, 200, a.body);
    acknowledged.push(...r.ids);
  }
  await waitFor(async () => (await metric('agentrelay_exporter_send_failures_total', { component: 'otlphttp/down', reason: 'econnrefused' })) >= 3, 10000, 'refused connections');
  // The first answer after the backend comes up is lost: the data arrived, the relay cannot know.
  down.respond = (n) => (n === 1 ? 'drop' : { status: 200 });
  await down.listen(downPort);
  await waitFor(() => acknowledged.every((id) => down.has(id)), 20000, 'every acknowledged item at the backend');
  // The resend of the request whose answer was lost comes after a backoff, possibly after everything else.
  await waitFor(() => down.duplicates >= 1, 20000, 'the resend of the request whose answer was lost');
  t.diagnostic(`${acknowledged.length} items acknowledged and delivered; ${down.duplicates} duplicate copies at the backend`);
  assert.ok(down.duplicates >= 1, 'the lost answer led to a resend');
  assert.ok((await metric('agentrelay_exporter_retries_total', { component: 'otlphttp/down' })) >= 3);
  assert.equal(await metric('agentrelay_exporter_failed_items_total', { component: 'otlphttp/down' }), 0);
  assert.equal(await metric('agentrelay_exporter_dropped_items_total', { component: 'otlphttp/down' }), 0);
});

test('HTTP 503 with Retry-After seconds and 429 with an HTTP date: the relay waits at least as asked', async () => {
  flaky.respond = (n) => (n === 1 ? { status: 503, headers: { 'retry-after': '2' } } : { status: 200 });
  assert.equal((await postJson(receiverPorts.flaky, 'logs', logsJson(['after-503']))).status, 200);
  await waitFor(() => flaky.has('after-503'), 10000, 'delivered after the 503');
  const [a1, a2] = flaky.attempts;
  assert.ok(a2.at - a1.at >= 1995, `retried ${a2.at - a1.at} ms after a 503 asking for 2 s`);

  let until = 0;
  flaky.respond = (n) => {
    if (n !== 3) return { status: 200 };
    until = Math.ceil((Date.now() + 1500) / 1000) * 1000;
    return { status: 429, headers: { 'retry-after': new Date(until).toUTCString() } };
  };
  assert.equal((await postJson(receiverPorts.flaky, 'logs', logsJson(['after-429']))).status, 200);
  await waitFor(() => flaky.has('after-429'), 10000, 'delivered after the 429');
  assert.ok(flaky.attempts[3].at >= until - 5, `retried ${until - flaky.attempts[3].at} ms before the date asked for`);
  assert.equal(await metric('agentrelay_exporter_send_failures_total', { component: 'otlphttp/flaky', reason: 'http_503' }), 1);
  assert.equal(await metric('agentrelay_exporter_send_failures_total', { component: 'otlphttp/flaky', reason: 'http_429' }), 1);
});

test('partial_success is counted and not retried', async () => {
  const before = flaky.attempts.length;
  flaky.respond = () => ({ status: 200, body: JSON.stringify({ partialSuccess: { rejectedLogRecords: '1', errorMessage: 'too old' } }) });
  assert.equal((await postJson(receiverPorts.flaky, 'logs', logsJson(['p1', 'p2']))).status, 200);
  await waitFor(async () => (await metric('agentrelay_exporter_partial_success_items_total', { component: 'otlphttp/flaky' })) === 1, 5000, 'partial success counted');
  assert.equal(flaky.attempts.length, before + 1);
  assert.match(relay.output(), /rejected 1 of 2 logs items \(partial success\): too old/);
});

test('gRPC RESOURCE_EXHAUSTED with RetryInfo: waits at least the delay; UNAVAILABLE retried; INVALID_ARGUMENT dropped', async () => {
  grpcScript.push({ code: grpc.status.RESOURCE_EXHAUSTED, retryDelayMs: 1500 }, { code: grpc.status.UNAVAILABLE }, 'ok');
  assert.equal((await postJson(receiverPorts.grpc, 'logs', logsJson(['g1']))).status, 200);
  await waitFor(() => grpcAttempts.length === 3, 10000, 'three attempts');
  assert.ok(grpcAttempts[1] - grpcAttempts[0] >= 1495, `retried ${grpcAttempts[1] - grpcAttempts[0]} ms after RetryInfo of 1.5 s`);
  await waitFor(async () => (await metric('agentrelay_exporter_sent_items_total', { component: 'otlp/grpc' })) === 1, 5000, 'sent');
  assert.equal(await metric('agentrelay_exporter_send_failures_total', { component: 'otlp/grpc', reason: 'grpc_resource_exhausted' }), 1);
  assert.equal(await metric('agentrelay_exporter_send_failures_total', { component: 'otlp/grpc', reason: 'grpc_unavailable' }), 1);

  grpcScript.push({ code: grpc.status.INVALID_ARGUMENT });
  assert.equal((await postJson(receiverPorts.grpc, 'logs', logsJson(['bad-1', 'bad-2']))).status, 200);
  await waitFor(async () => (await metric('agentrelay_exporter_dropped_items_total', { component: 'otlp/grpc', reason: 'non_retryable' })) === 2, 5000, 'drop counted');
  assert.equal(grpcAttempts.length, 4, 'not retried');
  const lines = relay.output().split('\n').filter((l) => l.includes('non-retryable error'));
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0], /dropping 2 logs items: non-retryable error from grpc:\/\/127\.0\.0\.1:\d+: gRPC INVALID_ARGUMENT: scripted failure/);
});
