// The redaction processor in a real relay process, with its privacy defaults:
//
//   every recorded agent payload (JSON and protobuf, as recorded) --POST /v1/<signal>-->
//   relay [redaction: {}] --> file exporter (OTLP/JSON lines)
//                         --> otlphttp exporter, protobuf, to a local backend (raw bytes kept)
//                         --> debug exporter, detailed (every record in the relay's log)
//
// None of the secrets planted in the agents' tool calls, nor any prompt, may appear in
// the file, in the protobuf the backend received, or in the relay's log; the redactions
// are counted in the relay's own metrics. A second relay, with a key from the
// environment, hashes prompts and pseudonymizes user.id, and Claude Code's logs and
// metrics still carry the same pseudonym.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { counterValue, freePort, readJsonLines, startRelay, waitFor, type RunningRelay } from '../helpers/relay-process';
import { listFixtures, type Fixture } from '../helpers/fixtures';
import { Batch } from '../../src/otlp/batch';
import { scanRequest } from '../../src/otlp/wire';
import type { Signal } from '../../src/otlp/schema';

for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) delete process.env[k];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PLANTED = [
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'xoxb-1234567890-abcdefghij',
  'sk-proj-FAKEabcdefghijklmnopqrstuvwxyz0123456789',
];
const PROMPTS = ['say hello using bash', 'say hello using the shell'];
const FORBIDDEN = [...PLANTED, ...PROMPTS];

const fixtures = listFixtures();

/** Items in a fixture, counted by the relay's own codec (the Collector's way). */
function itemsOf(f: Fixture): number {
  const raw = fs.readFileSync(f.file);
  return (f.format === 'proto' ? Batch.fromProto(f.signal, raw) : Batch.fromJsonObject(f.signal, JSON.parse(raw.toString('utf8')))).itemCount();
}

function itemsInLine(req: Json): number {
  let n = 0;
  for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) n += (sl.logRecords ?? []).length;
  for (const rs of req.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) n += (ss.spans ?? []).length;
  for (const rm of req.resourceMetrics ?? [])
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? []) for (const k of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) n += (m[k]?.dataPoints ?? []).length;
  return n;
}

async function post(port: number, f: Fixture): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/${f.signal}`, {
    method: 'POST',
    headers: { 'content-type': f.format === 'json' ? 'application/json' : 'application/x-protobuf' },
    body: fs.readFileSync(f.file),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${f.name}: HTTP ${res.status} ${text}`);
}

const attr = (rec: Json, key: string): unknown => {
  const v = (rec.attributes ?? []).find((a: Json) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue ?? v;
};

function logRecords(lines: Json[]): Json[] {
  return lines.flatMap((l) => (l.resourceLogs ?? []).flatMap((rl: Json) => (rl.scopeLogs ?? []).flatMap((sl: Json) => sl.logRecords ?? [])));
}

describe('redaction with the privacy defaults: all three agents replayed through a relay', () => {
  let relay: RunningRelay;
  let backend: http.Server;
  let httpPort = 0;
  const protoBodies: Buffer[] = [];
  /** Items the backend got (requests may be merged on the way, so items are what is counted). */
  let backendItems = 0;
  const contentTypes = new Set<string>();
  let file = '';

  before(async () => {
    backend = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        contentTypes.add(String(req.headers['content-type']));
        protoBodies.push(body);
        const signal = ({ '/v1/logs': 'logs', '/v1/metrics': 'metrics', '/v1/traces': 'traces' } as const)[req.url as '/v1/logs'];
        backendItems += scanRequest(signal, body).items;
        res.setHeader('content-type', 'application/x-protobuf');
        res.end();
      });
    });
    const backendPort = await new Promise<number>((r) => backend.listen(0, '127.0.0.1', () => r((backend.address() as net.AddressInfo).port)));
    httpPort = await freePort();
    relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  redaction: {}
exporters:
  file: {path: out.jsonl}
  otlphttp:
    endpoint: http://127.0.0.1:${backendPort}
    encoding: proto
    retry_on_failure: {initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 10s}
  debug: {verbosity: detailed}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [redaction], exporters: [file, otlphttp, debug]}
    metrics: {receivers: [otlp], processors: [redaction], exporters: [file, otlphttp, debug]}
    traces: {receivers: [otlp], processors: [redaction], exporters: [file, otlphttp, debug]}
`);
    file = path.join(relay.dir, 'out.jsonl');
  });

  after(async () => {
    if (relay) {
      await relay.stop();
      fs.rmSync(relay.dir, { recursive: true, force: true });
    }
    await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  });

  test('every fixture goes through; no planted secret or prompt in the file, the protobuf sent on, or the relay log', async () => {
    assert.ok(fixtures.length >= 30, `${fixtures.length} fixtures`);
    const total = fixtures.reduce((n, f) => n + itemsOf(f), 0);
    for (const f of fixtures) await post(httpPort, f);
    const fileItems = () => readJsonLines(file).reduce((n, l) => n + itemsInLine(l), 0);
    await waitFor(() => fileItems() >= total && backendItems >= total, 20_000, `${total} items in the file and at the backend`);
    assert.equal(backendItems, total, 'every item at the backend, none lost or doubled');
    assert.equal(fileItems(), total, 'every item, none lost');
    assert.deepEqual([...contentTypes], ['application/x-protobuf']);

    const fileBytes = fs.readFileSync(file);
    const proto = Buffer.concat(protoBodies);
    const log = relay.output();
    for (const s of FORBIDDEN) {
      assert.ok(!fileBytes.includes(Buffer.from(s)), `${s} is in the file`);
      assert.ok(!proto.includes(Buffer.from(s)), `${s} is in the protobuf sent on`);
      assert.ok(!log.includes(s), `${s} is in the relay's log`);
    }
    assert.ok(log.includes('[REDACTED:github-token]'), 'the detailed debug exporter did log the records');
  });

  test('what stays: the commands with their secrets replaced, lengths, the program name', () => {
    const lines = readJsonLines(file) as Json[];
    const recs = logRecords(lines);
    const claudePrompt = recs.find((r) => attr(r, 'event.name') === 'user_prompt')!;
    assert.equal(attr(claudePrompt, 'prompt'), '[REDACTED]');
    assert.equal(attr(claudePrompt, 'prompt_length'), '20');
    const claudeTool = recs.find((r) => attr(r, 'event.name') === 'tool_result')!;
    assert.equal(JSON.parse(attr(claudeTool, 'tool_input') as string).command, 'echo hello && export GITHUB_TOKEN=[REDACTED:github-token]');
    const codexTool = recs.find((r) => attr(r, 'event.name') === 'codex.tool_result')!;
    assert.equal(JSON.parse(attr(codexTool, 'arguments') as string).cmd, 'echo hi && export AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]');
    const geminiTool = recs.find((r) => attr(r, 'event.name') === 'gemini_cli.tool_call')!;
    assert.equal(
      JSON.parse(attr(geminiTool, 'function_args') as string).command,
      'echo hi && export SLACK_BOT_TOKEN=[REDACTED:slack-token] OPENAI_API_KEY=[REDACTED:openai-api-key]',
    );
    const geminiResources = lines.flatMap((l) => [...(l.resourceLogs ?? []), ...(l.resourceSpans ?? []), ...(l.resourceMetrics ?? [])]).filter(
      (r: Json) => attr(r.resource, 'service.name') === 'gemini-cli',
    );
    assert.ok(geminiResources.length > 0);
    for (const r of geminiResources) {
      const args = (attr(r.resource, 'process.command_args') as Json).arrayValue.values.map((v: Json) => v.stringValue);
      assert.equal(args[0], '/usr/bin/node');
      assert.equal(args[1], '/usr/lib/node_modules/.bin/gemini');
      assert.equal(args.length, 2);
    }
  });

  test('the relay counts the redactions by detector and field', async () => {
    const text = await relay.metrics();
    const secrets = (labels: Record<string, string>) => counterValue(text, 'agentrelay_redaction_secrets_total', labels);
    // Each Claude Code tool call carries the token in tool_parameters (decision and result) and tool_input.
    assert.ok(secrets({ detector: 'github-token', field: 'tool_parameters', signal: 'logs' }) >= 2);
    assert.ok(secrets({ detector: 'github-token', field: 'tool_input' }) >= 1);
    assert.ok(secrets({ detector: 'aws-secret-access-key', field: 'arguments' }) >= 1);
    assert.ok(secrets({ detector: 'slack-token', field: 'function_args' }) >= 1);
    assert.ok(secrets({ detector: 'openai-api-key', field: 'gen_ai.output.messages', signal: 'traces' }) >= 1);
    const fields = (labels: Record<string, string>) => counterValue(text, 'agentrelay_redaction_fields_total', labels);
    assert.ok(fields({ field: 'prompt', action: 'mask' }) >= 4, 'Claude Code, Codex and Gemini CLI prompts');
    assert.ok(fields({ field: 'process.command_args', action: 'program', signal: 'metrics' }) >= 1);
    assert.equal(counterValue(text, 'agentrelay_processor_dropped_items_total'), 0, 'redaction drops no item');
  });
});

describe('redaction with a key: hashed prompts and pseudonymized users, the same on logs and metrics', () => {
  let relay: RunningRelay;
  let httpPort = 0;

  before(async () => {
    httpPort = await freePort();
    relay = await startRelay(
      `
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${httpPort}}
processors:
  redaction:
    key: \${env:TEST_REDACTION_KEY}
    content: {prompt: hash}
    pseudonymize: {attributes: [user.id]}
    summary: debug
exporters:
  file: {path: out.jsonl}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [redaction], exporters: [file]}
    metrics: {receivers: [otlp], processors: [redaction], exporters: [file]}
`,
      { env: { TEST_REDACTION_KEY: 'e2e-key-0123456789abcdef0123456789abcdef' } },
    );
  });

  after(async () => {
    if (relay) {
      await relay.stop();
      fs.rmSync(relay.dir, { recursive: true, force: true });
    }
  });

  test("Claude Code's two runs: equal prompts hash equal, user.id is one pseudonym across logs and metrics", async () => {
    const sent = fixtures.filter((f) => f.name.startsWith('claude-code') && f.format === 'json');
    const signals = new Set<Signal>(sent.map((f) => f.signal));
    assert.deepEqual([...signals].sort(), ['logs', 'metrics']);
    const total = sent.reduce((n, f) => n + itemsOf(f), 0);
    for (const f of sent) await post(httpPort, f);
    const file = path.join(relay.dir, 'out.jsonl');
    await waitFor(() => readJsonLines(file).reduce((n, l) => n + itemsInLine(l), 0) >= total, 10_000, 'all items in the file');
    const lines = readJsonLines(file) as Json[];
    const bytes = fs.readFileSync(file);
    const originalId = 'b91b1beaebb1771f832f4c5e9ab692b076062ffdb854b4151df91ff2ed314aed';
    assert.ok(fs.readFileSync(sent[0].file).includes(originalId), 'the fixture has this user.id');
    for (const s of [...FORBIDDEN, originalId]) assert.ok(!bytes.includes(Buffer.from(s)), `${s} is in the file`);

    const recs = logRecords(lines);
    const prompts = recs.filter((r) => attr(r, 'event.name') === 'user_prompt').map((r) => attr(r, 'prompt') as string);
    assert.equal(prompts.length, 2, 'one prompt per run');
    assert.match(prompts[0], /^hmac:[0-9a-f]{32}$/);
    assert.equal(prompts[0], prompts[1], 'the same prompt in two runs hashes the same');
    assert.equal(attr(recs.find((r) => attr(r, 'event.name') === 'user_prompt')!, 'redaction.masked.keys'), 'prompt');

    // The two runs are two users; session.id (not pseudonymized) tells their records apart.
    const points = lines.flatMap((l) => (l.resourceMetrics ?? []).flatMap((rm: Json) => rm.scopeMetrics.flatMap((sm: Json) => sm.metrics.flatMap((m: Json) => m.sum.dataPoints))));
    assert.ok(points.length > 0);
    const bySession = new Map<unknown, Set<unknown>>();
    for (const r of [...recs, ...points]) {
      const sid = attr(r, 'session.id');
      if (!bySession.has(sid)) bySession.set(sid, new Set());
      bySession.get(sid)!.add(attr(r, 'user.id'));
    }
    assert.equal(bySession.size, 2, 'two sessions');
    const pseudonyms = [...bySession.values()].map((ids) => {
      assert.equal(ids.size, 1, `one pseudonym per user on logs and metrics: ${[...ids].join(', ')}`);
      const id = String([...ids][0]);
      assert.match(id, /^[0-9a-f]{32}$/);
      return id;
    });
    assert.notEqual(pseudonyms[0], pseudonyms[1], 'two users, two pseudonyms');
    assert.ok(!relay.output().includes('e2e-key-0123456789abcdef'), 'the key is never logged');
  });
});
