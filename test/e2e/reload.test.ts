// Hot reload of a real relay process (SIGHUP, and --watch):
//  - while two clients keep sending, the batch processor of the logs pipeline is swapped
//    from one that holds everything (1 h timeout) to one that flushes at once: every
//    record sent before, during and after the reload reaches the file exactly once, every
//    request is answered 200, and a record sent after the reload shows up without a
//    shutdown (the old processor would have held it for an hour);
//  - a config with mistakes is rejected with its errors (YAML paths) and the old
//    pipelines keep running with their old behaviour;
//  - a changed receiver endpoint moves the listener; --watch reloads on a file change;
//  - an exporter's persistent queue is handed from the old graph to the new one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, counterValue, freePort, readJsonLines, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const running: RunningRelay[] = [];
after(async () => {
  for (const r of running) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) await r.stop('SIGKILL');
    fs.rmSync(r.dir, { recursive: true, force: true });
  }
});

interface Ports {
  http: number;
}

function config(ports: Ports, processors: string, pipelineProcessors: string): string {
  return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.http}
processors:
${processors}
exporters:
  file:
    path: out.jsonl
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [${pipelineProcessors}]
      exporters: [file]
`;
}

/** The telemetry section startRelay appended (its health and metrics ports), kept across rewrites. */
function rewrite(file: string, body: string): void {
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, body.trimEnd() + '\n' + text.slice(text.indexOf('\n  telemetry:') + 1));
}

const HOLD = '  batch/hold:\n    timeout: 1h\n    send_batch_size: 1000000';
const FAST = '  batch/fast:\n    timeout: 1ms\n    send_batch_size: 1';

function logsRequest(seq: number): Json {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events' },
            logRecords: [
              {
                timeUnixNano: String(Date.now() * 1e6),
                body: { stringValue: 'claude_code.api_request' },
                attributes: [
                  { key: 'event.name', value: { stringValue: 'api_request' } },
                  { key: 'seq', value: { intValue: String(seq) } },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

async function post(port: number, body: Json): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await r.arrayBuffer();
  return r.status;
}

/** The seq attribute of every record in the file, in file order. */
function seqsIn(file: string): number[] {
  const out: number[] = [];
  for (const req of readJsonLines(file) as Json[])
    for (const rl of req.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? [])
        for (const lr of sl.logRecords ?? []) out.push(Number(lr.attributes.find((a: Json) => a.key === 'seq').value.intValue));
  return out;
}

async function reloads(relay: RunningRelay, result: 'applied' | 'rejected'): Promise<number> {
  return counterValue(await relay.metrics(), 'agentrelay_config_reloads_total', { result });
}

async function newRelay(processors: string, chain: string): Promise<{ relay: RunningRelay; ports: Ports; file: string }> {
  const dir = tempDir('agentrelay-reload-');
  const ports = { http: await freePort() };
  const relay = await startRelay(config(ports, processors, chain), { dir });
  running.push(relay);
  return { relay, ports, file: path.join(dir, 'relay.yaml') };
}

test('SIGHUP swaps the batch processor while traffic flows: nothing lost, nothing doubled, new behaviour after', async () => {
  const { relay, ports, file } = await newRelay(HOLD, 'batch/hold');
  const out = path.join(relay.dir, 'out.jsonl');

  // Before: the holding processor keeps everything.
  for (let i = 0; i < 5; i++) assert.equal(await post(ports.http, logsRequest(i)), 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(seqsIn(out), [], 'batch/hold must still be holding the first records');

  // Two clients send without pause while the config is swapped under them.
  let next = 5;
  let stopAt = Infinity;
  const statuses: number[] = [];
  const client = async () => {
    while (next < stopAt && next < 5000) {
      const seq = next++;
      statuses.push(await post(ports.http, logsRequest(seq)));
    }
  };
  const clients = [client(), client()];
  await waitFor(() => next > 40, 10000, 'traffic before the reload');
  rewrite(file, config(ports, FAST, 'batch/fast'));
  relay.proc.kill('SIGHUP');
  await waitFor(async () => (await reloads(relay, 'applied')) === 1, 10000, 'the reload to be applied');
  const atReload = next;
  await waitFor(() => next > atReload + 40, 10000, 'traffic after the reload');
  stopAt = next;
  await Promise.all(clients);
  const sent = stopAt;
  assert.ok(statuses.every((s) => s === 200), `every request answered 200 (got ${[...new Set(statuses)].join(', ')})`);

  // After: the new processor flushes at once, with no shutdown: one more record shows up by itself.
  assert.equal(await post(ports.http, logsRequest(sent)), 200);
  await waitFor(() => seqsIn(out).includes(sent), 5000, 'the record sent after the reload to reach the file');

  assert.equal(await relay.stop(), 0);
  const seqs = seqsIn(out);
  const expected = Array.from({ length: sent + 1 }, (_, i) => i);
  assert.deepEqual([...seqs].sort((a, b) => a - b), expected, 'every record exactly once');
  assert.match(relay.output(), /"msg":"config reloaded"/);
});

test('a config with mistakes is rejected with its errors; the old pipelines keep running as before', async () => {
  const { relay, ports, file } = await newRelay(FAST, 'batch/fast');
  const out = path.join(relay.dir, 'out.jsonl');
  assert.equal(await post(ports.http, logsRequest(1)), 200);
  await waitFor(() => seqsIn(out).includes(1), 5000, 'record 1');

  const bad = config(ports, FAST + '\n  bogus_processor: {}', 'batch/fast, bogus_processor').replace('path: out.jsonl', 'path: out.jsonl\n    colour: blue');
  rewrite(file, bad);
  relay.proc.kill('SIGHUP');
  await waitFor(async () => (await reloads(relay, 'rejected')) === 1, 10000, 'the reload to be rejected');
  const log = (await waitFor(() => relay.output().includes("bogus_processor") && relay.output(), 5000, "the rejection in the log")) as string;
  assert.match(log, /config reload rejected: the running config stays/);
  assert.match(log, /processors\.bogus_processor: unknown processor type \\"bogus_processor\\"/);
  assert.match(log, /exporters\.file\.colour: unknown key/);
  assert.equal(await reloads(relay, 'applied'), 0);

  // Still the old behaviour (batch/fast into out.jsonl), still serving.
  assert.equal(await post(ports.http, logsRequest(2)), 200);
  await waitFor(() => seqsIn(out).includes(2), 5000, 'record 2 after the rejected reload');
  assert.equal((await fetch(`http://127.0.0.1:${relay.healthPort}/readyz`)).status, 200);

  // A corrected file then goes through.
  rewrite(file, config(ports, HOLD, 'batch/hold'));
  relay.proc.kill('SIGHUP');
  await waitFor(async () => (await reloads(relay, 'applied')) === 1, 10000, 'the corrected reload');
  assert.equal(await post(ports.http, logsRequest(3)), 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!seqsIn(out).includes(3), 'batch/hold now holds record 3');
  assert.equal(await relay.stop(), 0);
  assert.deepEqual(seqsIn(out).sort(), [1, 2, 3]);
});

test('a changed receiver endpoint moves the listener', async () => {
  const { relay, ports, file } = await newRelay(FAST, 'batch/fast');
  const out = path.join(relay.dir, 'out.jsonl');
  const moved = { ...ports, http: await freePort() };
  rewrite(file, config(moved, FAST, 'batch/fast'));
  relay.proc.kill('SIGHUP');
  await waitFor(async () => (await reloads(relay, 'applied')) === 1, 10000, 'the reload');
  assert.equal(await post(moved.http, logsRequest(7)), 200);
  await assert.rejects(post(ports.http, logsRequest(8)), 'the old port is closed');
  await waitFor(() => seqsIn(out).includes(7), 5000, 'record 7');
  assert.match(relay.output(), /"receivers_restarted":\["otlp"\]/);
  assert.equal(await relay.stop(), 0);
});

test('--watch reloads when the file changes', async () => {
  const dir = tempDir('agentrelay-watch-');
  const ports = { http: await freePort(), health: await freePort(), metrics: await freePort() };
  const file = path.join(dir, 'relay.yaml');
  const telemetry = `  telemetry:\n    logs: {format: json}\n    health: {endpoint: 127.0.0.1:${ports.health}}\n    metrics: {address: 127.0.0.1:${ports.metrics}}\n`;
  fs.writeFileSync(file, config(ports, HOLD, 'batch/hold') + telemetry);
  const proc = spawn(process.execPath, [CLI, '--config', file, '--watch'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const relay: RunningRelay = {
    proc,
    dir,
    healthPort: ports.health,
    metricsPort: ports.metrics,
    output: () => log,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
    metrics: async () => (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text(),
  };
  running.push(relay);
  await waitFor(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${ports.health}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, 15000, 'the relay to be ready');
  fs.writeFileSync(file, config(ports, FAST, 'batch/fast') + telemetry);
  await waitFor(async () => (await reloads(relay, 'applied')) === 1, 10000, 'the watched file to be reloaded');
  assert.equal(await post(ports.http, logsRequest(9)), 200, log);
  await waitFor(() => seqsIn(path.join(dir, 'out.jsonl')).includes(9), 5000, 'record 9 through batch/fast');
  assert.match(log, /"reason":"file changed"/);
  assert.equal(await relay.stop(), 0);
});

test('a persistent sending queue is handed over: what the old exporter could not send, the new one sends', async () => {
  // A backend that answers 503 until told to accept, then records every record's seq.
  let accepting = false;
  const got: number[] = [];
  const backend = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!accepting) {
        res.statusCode = 503;
        return res.end();
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      const json = JSON.parse(body.toString('utf8')) as Json;
      for (const rl of json.resourceLogs ?? [])
        for (const sl of rl.scopeLogs ?? [])
          for (const lr of sl.logRecords ?? []) got.push(Number(lr.attributes.find((a: Json) => a.key === 'seq').value.intValue));
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  const backendPort = await new Promise<number>((resolve) => backend.listen(0, '127.0.0.1', () => resolve((backend.address() as net.AddressInfo).port)));
  const exporter = (chain: string) => `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:HTTP
processors:
${chain === 'batch/fast' ? FAST : '  batch/quick:\n    timeout: 5ms'}
exporters:
  otlphttp/up:
    endpoint: http://127.0.0.1:${backendPort}
    encoding: json
    sending_queue:
      persistent:
        directory: queue
    retry_on_failure:
      initial_interval: 50ms
      max_interval: 100ms
      max_elapsed_time: 0s
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [${chain}]
      exporters: [otlphttp/up]
`;
  try {
    const dir = tempDir('agentrelay-reload-pq-');
    const httpPort = await freePort();
    const relay = await startRelay(exporter('batch/fast').replace('HTTP', String(httpPort)), { dir });
    running.push(relay);
    for (let i = 0; i < 20; i++) assert.equal(await post(httpPort, logsRequest(i)), 200);
    rewrite(path.join(dir, 'relay.yaml'), exporter('batch/quick').replace('HTTP', String(httpPort)));
    relay.proc.kill('SIGHUP');
    // Requests sent during the hand-over wait for it (they are not refused) and land in the new queue.
    const during = Promise.all([20, 21, 22].map((i) => post(httpPort, logsRequest(i))));
    await waitFor(async () => (await reloads(relay, 'applied')) === 1, 15000, 'the reload').catch((e) => {
      throw new Error(`${(e as Error).message}\n${relay.output()}`);
    });
    assert.deepEqual(await during, [200, 200, 200]);
    assert.equal(got.length, 0, 'the backend has refused everything so far');
    accepting = true;
    // 0..19 were queued on disk by the old exporter and are sent by the new one, with 20..22.
    await waitFor(() => got.length >= 23, 10000, 'every queued record to be delivered after the hand-over');
    assert.equal(await relay.stop(), 0);
    assert.deepEqual([...got].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  } finally {
    backend.close();
  }
});
