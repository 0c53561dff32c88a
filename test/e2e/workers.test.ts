// service.workers: several processes behind the receivers' ports. The relay is started as
// a real process; requests come on separate connections, so the primary hands them to
// different workers; each worker writes its own file.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { CLI, counterValue, freePort, readJsonLines, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { logsJson, logsProto, unary } from './delivery-helpers';
import { decodePb } from '../helpers/plain-proto';

/** POST on a connection of its own (no keep-alive pool), so connections spread over workers. */
function post(port: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v1/logs', method: 'POST', agent: false, headers: { 'content-type': 'application/json', connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function bodiesIn(dir: string): string[] {
  const out: string[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jsonl')))
    for (const line of readJsonLines(path.join(dir, f)))
      for (const rl of (line.resourceLogs as any[]) ?? [])
        for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) out.push(lr.body.stringValue);
  return out;
}

/** An OTLP/HTTP backend that answers after 400 ms, and the exporters section that sends to it. */
async function slowBackend(): Promise<{ received: string[]; backend: http.Server; yaml: string }> {
  const received: string[] = [];
  const backend = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = decodePb('logs', Buffer.concat(chunks));
      for (const rl of body.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) received.push(lr.body.stringValue);
      setTimeout(() => res.end(), 400);
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as import('node:net').AddressInfo).port;
  return { received, backend, yaml: `exporters:\n  otlphttp: {endpoint: "http://127.0.0.1:${backendPort}", compression: none}\n` };
}

/** The pids of the workers that said they were ready (the primary logs it), once there are `n`. */
async function workerPids(relay: RunningRelay, n: number, timeoutMs = 10000): Promise<number[]> {
  const read = () => relay.output().split('\n').filter((l) => l.includes('"worker ready"')).map((l) => JSON.parse(l).pid as number);
  return (await waitFor(() => (read().length >= n ? read() : undefined), timeoutMs, `${n} workers ready`))!;
}

async function relayWithWorkers(
  exporters = 'exporters:\n  file: {path: ./out/logs.jsonl}\n',
  exporter = 'file',
  env: Record<string, string> = {},
): Promise<{ relay: RunningRelay; http: number; grpc: number }> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
      grpc: {endpoint: 127.0.0.1:${grpcPort}}
processors:
  # Held for longer than the test: what the files get at the end comes from the drain at shutdown.
  batch: {timeout: 60s}
${exporters}service:
  workers: 2
  pipelines:
    logs: {receivers: [otlp], processors: [batch], exporters: [${exporter}]}
  telemetry:
    logs: {level: debug, format: json}
    health: {endpoint: 127.0.0.1:HEALTH}
    metrics: {address: 127.0.0.1:METRICS}
    shutdown_timeout: 5s
`, { env });
  return { relay, http: httpPort, grpc: grpcPort };
}

test('two workers share the ports; /metrics sums them; SIGTERM drains both', async () => {
  const { relay, http: port, grpc: grpcPort } = await relayWithWorkers();
  let stopped = false;
  try {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const pair = [`h${i}a`, `h${i}b`];
      ids.push(...pair);
      assert.equal(await post(port, logsJson(pair)), 200);
    }
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    try {
      for (let i = 0; i < 5; i++) {
        ids.push(`g${i}`);
        const { err } = await unary(client, logsProto([`g${i}`]));
        assert.equal(err, null);
      }
    } finally {
      client.close();
    }
    const text = await relay.metrics();
    // Each worker's series carry its index; together they count every record.
    const w0 = counterValue(text, 'agentrelay_receiver_accepted_items_total', { signal: 'logs', worker: '0' });
    const w1 = counterValue(text, 'agentrelay_receiver_accepted_items_total', { signal: 'logs', worker: '1' });
    assert.ok(w0 > 0 && w1 > 0, `both workers took records (${w0}, ${w1})`);
    assert.equal(w0 + w1, ids.length);
    assert.equal((text.match(/^# TYPE agentrelay_receiver_accepted_items_total /gm) ?? []).length, 1, 'one TYPE line per metric');
    assert.match(text, /^agentrelay_workers 2$/m);

    assert.equal(await relay.stop(), 0);
    stopped = true;
    const out = path.join(relay.dir, 'out');
    const files = fs.readdirSync(out).sort();
    assert.deepEqual(files, ['logs.jsonl', 'logs.worker-1.jsonl'], 'each worker writes its own file (worker 0 the usual one)');
    for (const f of files) assert.ok(readJsonLines(path.join(out, f)).length > 0, `${f}: the worker served some of the requests`);
    assert.deepEqual(bodiesIn(out).sort(), ids.sort(), 'every accepted record was written once, held ones drained at shutdown');
  } finally {
    if (!stopped) await relay.stop();
  }
});

test('a worker that dies is replaced and the relay keeps taking data', async () => {
  const { relay, http: port } = await relayWithWorkers();
  try {
    const [victim] = await workerPids(relay, 2);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => relay.output().includes('worker exited; starting another') || undefined, 10000, 'the primary noticing');
    await workerPids(relay, 3, 15000);
    for (let i = 0; i < 10; i++) assert.equal(await post(port, logsJson([`after${i}`])), 200);
    const text = await relay.metrics();
    assert.match(text, /^agentrelay_workers 2$/m);
    assert.equal((await fetch(`http://127.0.0.1:${relay.healthPort}/readyz`)).status, 200);
  } finally {
    assert.equal(await relay.stop(), 0);
  }
});

test('a worker whose event loop stops turning is killed and replaced', async () => {
  const { relay, http: port } = await relayWithWorkers(undefined, undefined, { AGENTRELAY_WORKER_STUCK_MS: '1500' });
  try {
    const [frozen] = await workerPids(relay, 2);
    // SIGSTOP: the process is alive and holds its connections, but answers nothing.
    process.kill(frozen, 'SIGSTOP');
    await waitFor(() => relay.output().includes('worker stuck') || undefined, 10000, 'the primary noticing the stuck worker');
    await workerPids(relay, 3, 15000);
    for (let i = 0; i < 10; i++) assert.equal(await post(port, logsJson([`w${i}`])), 200);
    assert.match(await relay.metrics(), /^agentrelay_workers 2$/m);
  } finally {
    assert.equal(await relay.stop(), 0);
  }
});

test('SIGTERM to every process at once, as systemd sends it by default, is one drain, not two', async () => {
  // A backend that answers after 400 ms: the workers are still draining when the primary's
  // stop reaches them, after their own SIGTERM.
  const { received, backend, yaml } = await slowBackend();
  const { relay, http: port } = await relayWithWorkers(yaml, 'otlphttp');
  try {
    const pids = await workerPids(relay, 2);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(`s${i}`);
      assert.equal(await post(port, logsJson([`s${i}`])), 200);
    }
    const exited = new Promise<number | null>((resolve) => relay.proc.on('exit', (code) => resolve(code)));
    for (const pid of [relay.proc.pid!, ...pids]) process.kill(pid, 'SIGTERM');
    assert.equal(await exited, 0);
    assert.doesNotMatch(relay.output(), /exiting without draining/);
    assert.deepEqual(received.sort(), ids.sort());
  } finally {
    backend.closeAllConnections();
    backend.close();
  }
});

test('SIGHUP to the primary reloads every worker', async () => {
  const { relay, http: port } = await relayWithWorkers();
  try {
    const file = path.join(relay.dir, 'relay.yaml');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('./out/logs.jsonl', './out2/logs.jsonl'));
    process.kill(relay.proc.pid!, 'SIGHUP');
    await waitFor(
      async () => (counterValue(await relay.metrics(), 'agentrelay_config_reloads_total', { result: 'applied' }) === 2 ? true : undefined),
      15000,
      'both workers reloaded',
    );
    for (let i = 0; i < 10; i++) assert.equal(await post(port, logsJson([`r${i}`])), 200);
  } finally {
    assert.equal(await relay.stop(), 0);
  }
  assert.deepEqual(bodiesIn(path.join(relay.dir, 'out2')).sort(), Array.from({ length: 10 }, (_, i) => `r${i}`).sort());
});

test('a second SIGTERM while workers drain ends them at once, and the primary exits without a crash', async () => {
  const { backend, yaml } = await slowBackend();
  const { relay, http: port } = await relayWithWorkers(yaml, 'otlphttp');
  try {
    const pids = await workerPids(relay, 2);
    for (let i = 0; i < 10; i++) assert.equal(await post(port, logsJson([`d${i}`])), 200);
    const exited = new Promise<number | null>((resolve) => relay.proc.on('exit', (code) => resolve(code)));
    process.kill(relay.proc.pid!, 'SIGTERM');
    await waitFor(() => relay.output().includes('stopping the workers') || undefined, 10000, 'the first signal handled');
    // One worker is already gone when the second signal comes: its channel is closed.
    process.kill(pids[0], 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    process.kill(relay.proc.pid!, 'SIGTERM');
    assert.equal(await exited, 1, 'not drained: exit code 1');
    assert.match(relay.output(), /second signal/);
    assert.doesNotMatch(relay.output(), /ERR_IPC|Unhandled 'error'/);
  } finally {
    backend.closeAllConnections();
    backend.close();
  }
});

test('validate: the tap cannot run with workers, and workers must be a whole number from 1', () => {
  const dir = tempDir();
  const check = (service: string) => {
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, `receivers: {otlp: {protocols: {http: {endpoint: 127.0.0.1:4318}}}}
exporters: {debug: {}}
service:
${service}
  pipelines:
    logs: {receivers: [otlp], exporters: [debug]}
`);
    return spawnSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8' });
  };
  const tap = check('  workers: 2\n  telemetry: {tap: {endpoint: 127.0.0.1:4999}}');
  assert.equal(tap.status, 1);
  assert.match(tap.stderr, /service\.telemetry\.tap\.endpoint: the tap cannot run with service\.workers above 1/);
  const zero = check('  workers: 0');
  assert.equal(zero.status, 1);
  assert.match(zero.stderr, /service\.workers/);
  assert.equal(check('  workers: 3').status, 0);
});
