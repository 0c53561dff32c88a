// Graceful shutdown of a real relay process: a batch processor with a 30 s timeout
// holds what it was sent; SIGTERM makes the relay drain it into the file exporter
// and exit 0 within a few seconds. /readyz and /healthz answer 200 while it runs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, readJsonLines, startRelay, type RunningRelay } from '../helpers/relay-process';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let relay: RunningRelay | undefined;
after(async () => {
  if (relay) {
    if (relay.proc.exitCode === null && relay.proc.signalCode === null) await relay.stop('SIGKILL');
    fs.rmSync(relay.dir, { recursive: true, force: true });
  }
});

async function post(port: number, urlPath: string, body: Json): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}${urlPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await r.arrayBuffer();
  return r.status;
}

const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');

test('SIGTERM drains the batch processor into the file and exits 0 quickly', async () => {
  const httpPort = await freePort();
  relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
processors:
  batch:
    timeout: 30s
exporters:
  file:
    path: out.jsonl
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [file]
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [file]
`);
  const out = path.join(relay.dir, 'out.jsonl');

  // Ready and healthy while running.
  const ready = await fetch(`http://127.0.0.1:${relay.healthPort}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
  assert.equal((await fetch(`http://127.0.0.1:${relay.healthPort}/healthz`)).status, 200);

  const logBodies: string[] = [];
  for (let i = 0; i < 10; i++) {
    const bodies = Array.from({ length: 5 }, (_, j) => `held-${i}-${j}`);
    logBodies.push(...bodies);
    const status = await post(httpPort, '/v1/logs', {
      resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ timeUnixNano: '1700000000000000000', body: { stringValue: b } })) }] }],
    });
    assert.equal(status, 200);
  }
  const spanNames: string[] = [];
  for (let i = 0; i < 3; i++) {
    const spans = [0, 1].map((j) => ({
      traceId: hex(i + 1, 16),
      spanId: hex(i * 10 + j + 1, 8),
      name: `span-${i}-${j}`,
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000001000000000',
    }));
    spanNames.push(...spans.map((s) => s.name));
    assert.equal(await post(httpPort, '/v1/traces', { resourceSpans: [{ scopeSpans: [{ spans }] }] }), 200);
  }

  // The batch processor holds everything (timeout 30 s, send_batch_size 8192): nothing written yet.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(readJsonLines(out), [], 'nothing written before shutdown');
  // Still ready after the requests.
  assert.equal((await fetch(`http://127.0.0.1:${relay.healthPort}/readyz`)).status, 200);

  const t0 = Date.now();
  const code = await Promise.race([
    relay.stop('SIGTERM'),
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8000).unref()),
  ]);
  const elapsed = Date.now() - t0;
  assert.notEqual(code, 'timeout', `relay did not exit within 8 s:\n${relay.output()}`);
  assert.equal(code, 0, relay.output());
  assert.ok(elapsed < 5000, `exited in ${elapsed} ms`);

  const lines = readJsonLines(out) as Json[];
  const logs = lines.flatMap((l) => (l.resourceLogs ?? []).flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords)));
  const spans = lines.flatMap((l) => (l.resourceSpans ?? []).flatMap((rs: Json) => rs.scopeSpans.flatMap((ss: Json) => ss.spans)));
  assert.deepEqual(logs.map((r: Json) => r.body.stringValue).sort(), logBodies.sort(), 'every log record, once');
  assert.deepEqual(spans.map((s: Json) => s.name).sort(), spanNames.sort(), 'every span, once');
  // One flush per pipeline at shutdown: the batch processor really batched.
  assert.equal(lines.filter((l) => l.resourceLogs).length, 1);
  assert.equal(lines.filter((l) => l.resourceSpans).length, 1);

  assert.match(relay.output(), /shutting down/);
  assert.match(relay.output(), /agentrelay stopped/);
  // The health endpoint is gone with the process.
  await assert.rejects(fetch(`http://127.0.0.1:${relay.healthPort}/readyz`));
});
