// Cost derivation with a real relay process: recorded Codex and Gemini CLI requests
// (OTLP/JSON and protobuf) go in over HTTP through a logs pipeline with the cost
// processor, which exports to a file and to the cost connector; the connector feeds
// a metrics pipeline that also takes the agents' own metrics. The backend files must
// hold cost_usd on exactly the token-count events, and cost metrics whose totals
// equal the sum of those event costs. A bad price table stops the relay, naming the row.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, counterValue, freePort, readJsonLines, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { FIXTURES_DIR } from '../helpers/fixtures';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let relay: RunningRelay;
let httpPort: number;

before(async () => {
  httpPort = await freePort();
  relay = await startRelay(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
processors:
  cost:
    prices:
      gemini-3.8-flash: {provider: google, input: 1, cache_read: 0.1, output: 5, source: "e2e test", date: "2026-12-01"}
connectors:
  cost:
    attributes: [session.id]
exporters:
  file/logs:
    path: logs.jsonl
  file/metrics:
    path: metrics.jsonl
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [cost]
      exporters: [file/logs, cost]
    metrics:
      receivers: [cost, otlp]
      exporters: [file/metrics]
`);
});

after(async () => {
  if (relay) {
    const code = await relay.stop();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, relay.output());
  }
});

async function post(signal: 'logs' | 'metrics', file: string): Promise<void> {
  const proto = file.endsWith('.pb');
  const r = await fetch(`http://127.0.0.1:${httpPort}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': proto ? 'application/x-protobuf' : 'application/json' },
    body: fs.readFileSync(path.join(FIXTURES_DIR, file)),
  });
  assert.equal(r.status, 200, `${file}: ${await r.text()}`);
}

const attrsOf = (x: Json): Json => Object.fromEntries((x.attributes ?? []).map((kv: Json) => [kv.key, kv.value]));
const nanos = (usd: number) => Math.round(usd * 1e9);

function logRecords(): Json[] {
  const out: Json[] = [];
  for (const req of readJsonLines(path.join(relay.dir, 'logs.jsonl')))
    for (const rl of (req.resourceLogs as Json[]) ?? []) for (const sl of rl.scopeLogs ?? []) out.push(...(sl.logRecords ?? []));
  return out;
}

function metrics(name: string): Json[] {
  const out: Json[] = [];
  for (const req of readJsonLines(path.join(relay.dir, 'metrics.jsonl')))
    for (const rm of (req.resourceMetrics as Json[]) ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) if (m.name === name) out.push(m);
  return out;
}

const points = (name: string): Json[] => metrics(name).flatMap((m) => m.sum?.dataPoints ?? []);

test('Codex and Gemini CLI events get cost_usd; the cost metrics at the backend add up to the event costs', async () => {
  const logs = ['codex/exec/04-logs.json', 'codex/tui/03-logs.json', 'codex/exec-protobuf/04-logs.pb', 'gemini-cli/priced-model/02-logs.json', 'gemini-cli/noninteractive/02-logs.json'];
  for (const f of logs) await post('logs', f);
  await post('metrics', 'codex/exec/03-metrics.json');

  const priced = (lr: Json) => attrsOf(lr).cost_usd !== undefined;
  await waitFor(() => logRecords().filter(priced).length >= 11, 10_000, 'priced events in the logs file');
  await waitFor(() => points('codex.cost.usage').length >= 3 && points('gemini_cli.cost.usage').length >= 2, 10_000, 'cost metrics');

  // Events: exactly the token-count records are priced, with the hand-worked figures.
  const recs = logRecords();
  const name = (lr: Json) => attrsOf(lr)['event.name']?.stringValue;
  const figures = recs.filter(priced).map((lr) => [name(lr), attrsOf(lr).model.stringValue, attrsOf(lr).cost_usd.doubleValue]);
  assert.deepEqual(figures, [
    // gpt-5-codex 1.25 / 0.125 / 10: 502*1.25 + 1500*0.125 + 62*10 = 1435 µ$, then 1446.25 µ$
    ['codex.sse_event', 'gpt-5-codex', 0.001435],
    ['codex.sse_event', 'gpt-5-codex', 0.00144625],
    ['codex.sse_event', 'gpt-5-codex', 0.00146875],
    ['codex.sse_event', 'gpt-5-codex', 0.00148],
    ['codex.sse_event', 'gpt-5-codex', 0.00149125],
    ['codex.sse_event', 'gpt-5-codex', 0.001435],
    ['codex.sse_event', 'gpt-5-codex', 0.00144625],
    // gemini-2.5-flash 0.30 / 0.03 / 2.50: (1801 + 7)*0.30 + 1200*0.03 + 55*2.50 = 715.9 µ$, then 638.7 µ$
    ['gemini_cli.api_response', 'gemini-2.5-flash', 0.0007159],
    ['gemini_cli.api_response', 'gemini-2.5-flash', 0.0006387],
    // gemini-3.8-flash from the inline row, 1 / 0.1 / 5: 1809 + 120 + 275 = 2204 µ$, then 2050 µ$
    ['gemini_cli.api_response', 'gemini-3.8-flash', 0.002204],
    ['gemini_cli.api_response', 'gemini-3.8-flash', 0.00205],
  ]);
  const unpriced = recs.filter((lr) => attrsOf(lr)['agentrelay.cost_unpriced']);
  assert.deepEqual(unpriced.map((lr) => attrsOf(lr).model.stringValue), ['gemini-3.5-flash-lite']);
  assert.ok(recs.filter((lr) => name(lr) === 'gen_ai.client.inference.operation.details').every((lr) => !priced(lr)));

  // Metrics: shaped like claude_code.cost.usage, totals equal to the sum of the event costs per agent.
  const eventNanos = (agent: string, model?: string) =>
    recs.filter(priced).filter((lr) => name(lr)!.startsWith(agent) && (!model || attrsOf(lr).model.stringValue === model)).reduce((n, lr) => n + nanos(attrsOf(lr).cost_usd.doubleValue), 0);
  for (const [metric, agent] of [['codex.cost.usage', 'codex.'], ['gemini_cli.cost.usage', 'gemini_cli.']]) {
    for (const m of metrics(metric)) {
      assert.equal(m.unit, 'USD');
      assert.equal(m.sum.aggregationTemporality, 1, 'DELTA');
      assert.equal(m.sum.isMonotonic, true);
    }
    const total = points(metric).reduce((n, p) => n + nanos(p.asDouble), 0);
    assert.equal(total, eventNanos(agent), metric);
  }
  assert.equal(points('codex.cost.usage').reduce((n, p) => n + nanos(p.asDouble), 0), 10_202_500, "the seven Codex figures: 1435 + 1446.25 + 1468.75 + 1480 + 1491.25 + 1435 + 1446.25 µ$");
  const gemByModel = (model: string) => points('gemini_cli.cost.usage').filter((p) => attrsOf(p).model.stringValue === model).reduce((n, p) => n + nanos(p.asDouble), 0);
  assert.equal(gemByModel('gemini-2.5-flash'), eventNanos('gemini_cli.', 'gemini-2.5-flash'));
  assert.equal(gemByModel('gemini-3.8-flash'), 4_254_000);
  assert.equal(gemByModel('gemini-3.5-flash-lite'), 0, 'no cost point for the unpriced model');
  // The configured attribute rides along (Gemini events carry session.id; Codex events do not).
  assert.ok(points('gemini_cli.cost.usage').every((p) => typeof attrsOf(p)['session.id']?.stringValue === 'string'));

  // codex.token.usage: input without cached, output with reasoning; the types sum to every token once.
  const tokens: Record<string, number> = {};
  for (const p of points('codex.token.usage')) tokens[attrsOf(p).type.stringValue] = (tokens[attrsOf(p).type.stringValue] ?? 0) + p.asDouble;
  // exec twice (json + protobuf): input 1005 each, output 125, cached 3000; tui: input 1518, output 198, cached 4500.
  assert.deepEqual(tokens, { input: 1005 * 2 + 1518, output: 125 * 2 + 198, cacheRead: 3000 * 2 + 4500, cacheCreation: 0 });

  // Codex's own histogram passes through the metrics pipeline as it was.
  const turn = metrics('codex.turn.token_usage');
  assert.equal(turn.length, 1);
  assert.ok(turn[0].histogram.dataPoints.length === 6);

  // The relay's own account: unpriced tokens by model, connector output counted.
  const text = await relay.metrics();
  assert.equal(counterValue(text, 'agentrelay_cost_unpriced_tokens_total', { model: 'gemini-3.5-flash-lite' }), 3035);
  assert.equal(counterValue(text, 'agentrelay_cost_unpriced_tokens_total', { model: 'gemini-3.8-flash' }), 0);
  const emitted = ['codex.cost.usage', 'codex.token.usage', 'gemini_cli.cost.usage'].reduce((n, m) => n + points(m).length, 0);
  assert.equal(counterValue(text, 'agentrelay_connector_routed_items_total', { component: 'cost' }), emitted);
  // One warning names the unknown model.
  assert.equal(relay.output().split('\n').filter((l) => l.includes('no price for this model') && l.includes('gemini-3.5-flash-lite')).length, 1);
});

test('a bad price table stops the relay with the file and row named', () => {
  const dir = tempDir('agentrelay-cost-bad-');
  try {
    const table = path.join(dir, 'prices.yaml');
    fs.writeFileSync(table, [
      'models:',
      '  gpt-5-codex: {provider: openai, input: 1.25, cache_read: 0.125, output: 10, source: contract, date: "2026-12-01"}',
      '  gemini-2.5-flash: {provider: google, input: 0.30, cache_read: 0.0300001, output: 2.50, source: contract, date: "2026-12-01"}',
      '',
    ].join('\n'));
    const config = path.join(dir, 'relay.yaml');
    fs.writeFileSync(config, [
      'receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:0"}}}}',
      'processors:',
      `  cost: {prices_file: ${JSON.stringify(table)}}`,
      'exporters: {debug: {}}',
      'service:',
      '  pipelines:',
      '    logs: {receivers: [otlp], processors: [cost], exporters: [debug]}',
      '',
    ].join('\n'));
    for (const args of [['validate', '--config', config], ['--config', config]]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 15_000, env: { PATH: process.env.PATH ?? '' } });
      assert.equal(r.status, 1, r.stderr);
      assert.ok(
        r.stderr.includes(`error: processors.cost.prices_file: ${table}:3: models.gemini-2.5-flash.cache_read: 0.0300001 has more than 6 decimals`),
        r.stderr,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
