// Crashes and restarts of a real relay process with a persistent queue:
//  1. a stream of recorded agent requests (every item tagged with a unique id)
//     flows through the batch processor into an exporter whose backend refuses
//     two requests in three; the relay is SIGKILLed mid-stream; restarted on the
//     same queue directory with a healthy backend, it delivers every item it had
//     acknowledged (at-least-once: zero loss; duplicates are reported);
//  2. a queue file whose last record was torn (the file truncated by hand after a
//     SIGKILL): the relay starts, counts the damage, and delivers every whole record;
//  3. SIGTERM with the backend down: the relay exits 0 at once, leaving the data
//     on disk, and the next start delivers it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { counterValue, freePort, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { postJson, RecordingBackend, taggedRequests } from './delivery-helpers';

const relays: RunningRelay[] = [];
const dirs: string[] = [];
after(async () => {
  for (const r of relays) if (r.proc.exitCode === null && r.proc.signalCode === null) await r.stop('SIGKILL');
  for (const d of [...dirs, ...relays.map((r) => r.dir)]) fs.rmSync(d, { recursive: true, force: true });
});

function config(httpPort: number, backendPort: number, queueDir: string, batch: boolean): string {
  const processors = batch ? '\n      processors: [batch]' : '';
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
processors:
  batch:
    timeout: 50ms
    send_batch_size: 40
exporters:
  otlphttp/backend:
    endpoint: http://127.0.0.1:${backendPort}
    encoding: json
    compression: none
    timeout: 2s
    sending_queue:
      num_consumers: 2
      queue_size: 100000
      max_bytes: 0
      persistent:
        directory: ${queueDir}
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 200ms
service:
  pipelines:
    logs:
      receivers: [otlp]${processors}
      exporters: [otlphttp/backend]
    metrics:
      receivers: [otlp]${processors}
      exporters: [otlphttp/backend]
    traces:
      receivers: [otlp]${processors}
      exporters: [otlphttp/backend]
`;
}

async function start(yaml: string): Promise<RunningRelay> {
  const r = await startRelay(yaml);
  relays.push(r);
  return r;
}

test('SIGKILL mid-stream: after a restart every acknowledged item reaches the backend', async (t) => {
  const backend = new RecordingBackend();
  const backendPort = await backend.listen();
  backend.respond = (n) => (n % 3 === 0 ? { status: 200 } : { status: 503 });
  const httpPort = await freePort();
  const queueDir = tempDir('agentrelay-wal-e2e-');
  dirs.push(queueDir);
  const yaml = config(httpPort, backendPort, queueDir, true);
  let relay = await start(yaml);

  const requests = taggedRequests('kill', 400);
  const acknowledged: string[] = [];
  let next = 0;
  let killed = false;
  // Four senders stream requests until the relay dies under them.
  const sender = async () => {
    while (!killed && next < requests.length) {
      const req = requests[next++];
      const r = await postJson(httpPort, req.signal, req.body);
      if (r.status === 200) acknowledged.push(...req.ids);
    }
  };
  const senders = [sender(), sender(), sender(), sender()];
  await waitFor(() => acknowledged.length >= 300, 20000, '300 acknowledged items');
  killed = true;
  relay.proc.kill('SIGKILL');
  await relay.stop();
  await Promise.all(senders);
  const missingAtKill = acknowledged.filter((id) => !backend.has(id)).length;
  t.diagnostic(`${acknowledged.length} items acknowledged, ${missingAtKill} not yet at the backend when the relay was killed`);
  assert.ok(missingAtKill > 0, 'the kill left acknowledged data undelivered (else this test shows nothing)');

  backend.respond = () => ({ status: 200 });
  relay = await start(yaml);
  await waitFor(() => acknowledged.every((id) => backend.has(id)), 30000, 'every acknowledged item at the backend');
  const metrics = await relay.metrics();
  assert.ok(counterValue(metrics, 'agentrelay_persistent_queue_recovered_items_total') >= missingAtKill - 1);
  t.diagnostic(`after restart: ${backend.unique} distinct items at the backend, ${backend.duplicates} duplicate copies (at-least-once)`);
  assert.equal(await relay.stop(), 0, relay.output());
  await backend.close();
});

test('a torn queue file: the relay starts, counts the damage and delivers every whole record', async () => {
  const backend = new RecordingBackend();
  const backendPort = await backend.listen();
  backend.respond = () => ({ status: 503 });
  const httpPort = await freePort();
  const queueDir = tempDir('agentrelay-wal-torn-');
  dirs.push(queueDir);
  const yaml = config(httpPort, backendPort, queueDir, false);
  let relay = await start(yaml);
  const requests = taggedRequests('torn', 10, ['logs']);
  for (const r of requests) assert.equal((await postJson(httpPort, r.signal, r.body)).status, 200);
  relay.proc.kill('SIGKILL');
  await relay.stop();

  const segDir = path.join(queueDir, 'otlphttp_backend', 'logs');
  const segs = fs.readdirSync(segDir).filter((f) => f.endsWith('.wal')).sort();
  const last = path.join(segDir, segs[segs.length - 1]);
  fs.truncateSync(last, fs.statSync(last).size - 5);

  backend.respond = () => ({ status: 200 });
  relay = await start(yaml);
  const whole = requests.slice(0, -1).flatMap((r) => r.ids);
  await waitFor(() => whole.every((id) => backend.has(id)), 20000, 'every whole record delivered');
  const metrics = await relay.metrics();
  assert.equal(counterValue(metrics, 'agentrelay_persistent_queue_corrupt_records_total', { component: 'otlphttp/backend', signal: 'logs' }), 1);
  await waitFor(async () => counterValue(await relay.metrics(), 'agentrelay_exporter_queue_size', { component: 'otlphttp/backend', signal: 'logs' }) === 0, 5000, 'queue empty');
  const torn = requests[requests.length - 1].ids;
  assert.ok(torn.every((id) => !backend.has(id)), 'the torn record is skipped, not half-delivered');
  assert.match(relay.output(), /persistent queue: skipped torn or corrupt tail/);
  assert.equal(await relay.stop(), 0, relay.output());
  await backend.close();
});

test('SIGTERM with the backend down exits 0 promptly and leaves the data for the next start', async () => {
  const backend = new RecordingBackend();
  const backendPort = await backend.listen();
  backend.respond = () => ({ status: 503 });
  const httpPort = await freePort();
  const queueDir = tempDir('agentrelay-wal-term-');
  dirs.push(queueDir);
  const yaml = config(httpPort, backendPort, queueDir, false);
  let relay = await start(yaml);
  const requests = taggedRequests('term', 6);
  for (const r of requests) assert.equal((await postJson(httpPort, r.signal, r.body)).status, 200);
  const t0 = Date.now();
  assert.equal(await relay.stop('SIGTERM'), 0, relay.output());
  // The shutdown timeout is 5 s; a persistent queue does not wait it out.
  assert.ok(Date.now() - t0 < 4000, `stopped in ${Date.now() - t0} ms`);
  assert.match(relay.output(), /items left on disk for the next start/);
  const ids = requests.flatMap((r) => r.ids);
  assert.ok(ids.some((id) => !backend.has(id)));

  backend.respond = () => ({ status: 200 });
  relay = await start(yaml);
  await waitFor(() => ids.every((id) => backend.has(id)), 20000, 'everything delivered after the restart');
  assert.equal(await relay.stop(), 0, relay.output());
  await backend.close();
});
