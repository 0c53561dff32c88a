// The memory limiter of a real relay process with a small heap (96 MiB): a flood of
// large requests piles up behind a backend that hangs, until the receiver refuses
// new data with a retryable status (HTTP 503 + Retry-After, gRPC UNAVAILABLE +
// RetryInfo) instead of running out of memory; once the backend recovers and the
// queue drains, the relay takes data again. The process never dies.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { counterValue, freePort, startRelay, waitFor, type RunningRelay } from '../helpers/relay-process';
import { logsJson, logsProto, postJson, RecordingBackend, retryDelayOf, unary } from './delivery-helpers';

let relay: RunningRelay | undefined;
const backend = new RecordingBackend();
let client: grpc.Client | undefined;
after(async () => {
  client?.close();
  backend.release();
  if (relay) {
    await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
  }
  await backend.close();
});

/** About 1 MB of OTLP/JSON: 2000 records with 400-character bodies. */
function bigRequest(n: number): Buffer {
  const text = 'x'.repeat(400);
  const records = Array.from({ length: 2000 }, (_, i) => ({ body: { stringValue: `${n}-${i}-${text}` } }));
  return Buffer.from(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] }));
}

test('a flood is refused with retryable statuses when memory is short, never crashes, and recovers', async (t) => {
  await backend.listen();
  backend.respond = () => 'hang';
  const httpPort = await freePort();
  const grpcPort = await freePort();
  relay = await startRelay(
    `
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}, max_request_body_size: 4MiB}
      grpc: {endpoint: 127.0.0.1:${grpcPort}}
    memory_limiter: {check_interval: 50ms, retry_after: 2s, limit_mib: 80}
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${backend.port}
    encoding: json
    timeout: 60s
    sending_queue: {queue_size: 100000, max_bytes: 0, num_consumers: 1}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [otlphttp]}
`,
    { env: { NODE_OPTIONS: '--max-old-space-size=96' } },
  );
  const r = relay;

  const statuses = new Map<number, number>();
  let memoryRefusals = 0;
  let sent = 0;
  const flood = async () => {
    while (sent < 250) {
      const n = sent++;
      const a = await postJson(httpPort, 'logs', bigRequest(n));
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (a.status === 503 && /short of memory/.test(a.body)) {
        memoryRefusals++;
        assert.ok(Number(a.headers['retry-after']) >= 2, 'Retry-After as configured');
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, flood));
  t.diagnostic(`flood of ${sent} requests of ~1 MB: answers ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(r.proc.exitCode === null && r.proc.signalCode === null, `relay died:\n${r.output().slice(-3000)}`);
  assert.ok(memoryRefusals >= 30, 'the memory limiter refused part of the flood');
  assert.deepEqual([...statuses.keys()].sort(), [200, 503], 'every answer is 200 or a retryable 503');

  client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  // The flood leaves memory right at the soft limit, and a collection after it can bring it
  // just under: then a request is taken (and adds its ~1 MB) until the limiter refuses again.
  let err: grpc.ServiceError | null = null;
  for (let i = 0; i < 20 && !err; i++) ({ err } = await unary(client, logsProto(Array.from({ length: 2000 }, (_, k) => `short-${i}-${k}-${'y'.repeat(400)}`))));
  assert.equal(err?.code, grpc.status.UNAVAILABLE, err?.message);
  assert.equal(retryDelayOf(err!), 2000);
  const m = await r.metrics();
  assert.ok(counterValue(m, 'agentrelay_receiver_refused_requests_total', { component: 'otlp', reason: 'memory_limit' }) >= 31);
  assert.equal(counterValue(m, 'agentrelay_memory_limiter_refusing', { component: 'otlp' }), 1);

  // The backend recovers: the queue drains, memory falls, data is taken again.
  backend.release();
  try {
    // A connection the relay closed after a refusal can fail one fetch: that is not an answer, try again.
    await waitFor(
      async () => (await postJson(httpPort, 'logs', logsJson(['after-recovery'])).catch(() => ({ status: 0 }))).status === 200,
      30000,
      'taking data again',
    );
  } catch (e) {
    t.diagnostic(`relay exit code ${r.proc.exitCode}, signal ${r.proc.signalCode}`);
    const mm = await r.metrics().catch((err: Error) => `metrics unreachable: ${err.message}`);
    t.diagnostic(mm.split('\n').filter((l) => /queue_size|memory_limiter|sent_items|unreachable/.test(l)).join('\n'));
    t.diagnostic(r.output().split('\n').filter((l) => /memory|queue|error/i.test(l)).slice(-20).join('\n'));
    t.diagnostic(`backend got ${backend.unique} records in ${backend.arrivals.length} requests`);
    throw e;
  }
  await waitFor(() => /memory use is below the soft limit again/.test(r.output()), 5000, 'the recovery logged');
  assert.equal(r.proc.exitCode, null);
});
