// agent_normalize, enrich and limits in a real relay process:
//
//   POST /v1/<signal> (recorded fixtures, JSON and protobuf; some with an x-team header)
//     --> relay: agent_normalize -> enrich (static, header, CSV lookup) -> limits --> file per signal
//
// Each fixture is sent alone and its line awaited, so line N of a file belongs to the
// Nth request of that signal. The lookup file is rewritten while the relay runs, and
// the relay's own /metrics are checked for what limits cut and enrich reloaded.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { counterValue, freePort, readJsonLines, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { FIXTURES_DIR } from '../helpers/fixtures';
import type { Signal } from '../../src/otlp/schema';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const USER_A = 'b91b1beaebb1771f832f4c5e9ab692b076062ffdb854b4151df91ff2ed314aed'; // claude-code/tool-call
const MAX_VALUE = 8192;

let relay: RunningRelay;
let httpPort: number;
let dir: string;
let lookupFile: string;
const sent: Record<Signal, number> = { logs: 0, metrics: 0, traces: 0 };

before(async () => {
  dir = tempDir();
  httpPort = await freePort();
  lookupFile = path.join(dir, 'teams.csv');
  fs.writeFileSync(lookupFile, `user.id,team.name,cost_center\n${USER_A},platform,cc-7\n`);
  relay = await startRelay(
    `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${httpPort}
        include_metadata: true
        metadata_keys: [x-team]
processors:
  agent_normalize: {}
  enrich:
    static:
      deployment.environment.name: e2e
      team.name: unassigned
    from_metadata:
      x-team: team.name
    lookup:
      path: teams.csv
      keys: [user.email, user.id]
      reload_interval: 100ms
  limits:
    max_attribute_value_size: ${MAX_VALUE}
exporters:
  file/logs: {path: logs.jsonl}
  file/metrics: {path: metrics.jsonl}
  file/traces: {path: traces.jsonl}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [agent_normalize, enrich, limits], exporters: [file/logs]}
    metrics: {receivers: [otlp], processors: [agent_normalize, enrich, limits], exporters: [file/metrics]}
    traces: {receivers: [otlp], processors: [agent_normalize, enrich, limits], exporters: [file/traces]}
`,
    { dir },
  );
});

after(async () => {
  if (relay) {
    const code = await relay.stop();
    assert.equal(code, 0, relay.output());
    assert.ok(!relay.output().includes(USER_A), 'no lookup key in the relay log');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends one fixture and returns the request the file exporter wrote for it. */
async function send(rel: string, headers: Record<string, string> = {}): Promise<Json> {
  const signal = /(logs|metrics|traces)\.(json|pb)$/.exec(rel)![1] as Signal;
  const pb = rel.endsWith('.pb');
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/${signal}`, {
    method: 'POST',
    headers: { 'content-type': pb ? 'application/x-protobuf' : 'application/json', ...headers },
    body: fs.readFileSync(path.join(FIXTURES_DIR, rel)),
  });
  assert.equal(res.status, 200, await res.text());
  const n = ++sent[signal];
  const file = path.join(dir, `${signal}.jsonl`);
  const lines = await waitFor(() => {
    const l = readJsonLines(file);
    return l.length >= n ? l : undefined;
  }, 10_000, `line ${n} of ${signal}.jsonl`);
  return lines![n - 1];
}

const attr = (attrs: Json[] | undefined, key: string) => (attrs ?? []).find((a) => a.key === key)?.value;
const str = (attrs: Json[] | undefined, key: string) => attr(attrs, key)?.stringValue as string | undefined;

function logRecords(req: Json): { resource: Json; record: Json }[] {
  return req.resourceLogs.flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords.map((record: Json) => ({ resource: rl.resource, record }))));
}

test('Codex logs (protobuf, x-team header): times, event names, numbers, agent.name, team from the header', async () => {
  const out = await send('codex/exec-protobuf/04-logs.pb', { 'x-team': 'payments' });
  const recs = logRecords(out);
  assert.ok(recs.length > 20);
  for (const { resource, record } of recs) {
    assert.equal(str(resource.attributes, 'agent.name'), 'codex');
    assert.equal(str(resource.attributes, 'team.name'), 'payments', 'the header wins over the static value');
    assert.equal(str(resource.attributes, 'deployment.environment.name'), 'e2e');
    assert.equal(record.timeUnixNano, record.observedTimeUnixNano);
    const name = str(record.attributes, 'event.name');
    assert.equal(record.eventName, name, 'eventName is the event, not a source location');
    for (const key of ['duration_ms', 'input_token_count', 'output_token_count', 'tool_token_count', 'prompt_length']) {
      const v = attr(record.attributes, key);
      if (v) assert.ok('intValue' in v, `${name} ${key} is an int: ${JSON.stringify(v)}`);
    }
    const success = attr(record.attributes, 'success');
    if (success) assert.deepEqual(success, { boolValue: true });
  }
  const completed = recs.find((r) => attr(r.record.attributes, 'input_token_count'))!;
  assert.deepEqual(attr(completed.record.attributes, 'input_token_count'), { intValue: '2002' });
});

test('Claude Code logs and metrics: the team comes from the lookup file by user.id; prefixed event names', async () => {
  const logs = await send('claude-code/tool-call/01-logs.json');
  for (const { resource, record } of logRecords(logs)) {
    assert.equal(str(resource.attributes, 'agent.name'), 'claude_code');
    assert.equal(str(resource.attributes, 'team.name'), 'platform', 'the lookup wins over the static value');
    assert.equal(str(resource.attributes, 'cost_center'), 'cc-7');
    assert.equal(record.eventName, `claude_code.${str(record.attributes, 'event.name')}`);
    assert.match(record.body.stringValue, /^claude_code\./);
  }
  const tr = logRecords(logs).find((r) => str(r.record.attributes, 'event.name') === 'tool_result')!.record;
  assert.deepEqual(attr(tr.attributes, 'duration_ms'), { intValue: '75' });
  assert.deepEqual(attr(tr.attributes, 'success'), { boolValue: true });

  const metrics = await send('claude-code/tool-call/02-metrics.json');
  for (const rm of metrics.resourceMetrics) {
    assert.equal(str(rm.resource.attributes, 'agent.name'), 'claude_code');
    assert.equal(str(rm.resource.attributes, 'team.name'), 'platform', 'user.id on the data points picks the row');
  }
});

test('Gemini CLI spans: the system instructions and large tool definitions are cut to the limit and counted', async () => {
  const rel = 'gemini-cli/interactive/02-traces.json';
  const original = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, rel), 'utf8')) as Json;
  const spans = (req: Json): Json[] => req.resourceSpans.flatMap((rs: Json) => rs.scopeSpans.flatMap((ss: Json) => ss.spans));
  let over = 0;
  let removed = 0;
  for (const s of spans(original))
    for (const a of s.attributes) {
      const n = Buffer.byteLength(a.value.stringValue ?? '');
      if (n > MAX_VALUE) {
        over++;
        removed += n - MAX_VALUE;
      }
    }
  assert.ok(over >= 4, 'the fixture has the oversized values this is for');

  const out = await send(rel);
  const got = spans(out);
  const want = spans(original);
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].spanId, want[i].spanId);
    for (const a of want[i].attributes) {
      const g = attr(got[i].attributes, a.key);
      const sv = a.value.stringValue;
      if (typeof sv !== 'string') continue;
      if (Buffer.byteLength(sv) <= MAX_VALUE) assert.equal(g.stringValue, sv, `${a.key} kept whole`);
      else {
        assert.equal(Buffer.byteLength(g.stringValue), MAX_VALUE, `${a.key} cut to ${MAX_VALUE} bytes`);
        assert.ok(sv.startsWith(g.stringValue));
      }
    }
  }
  for (const rs of out.resourceSpans) assert.equal(str(rs.resource.attributes, 'agent.name'), 'gemini_cli');

  const m = await relay.metrics();
  assert.equal(counterValue(m, 'agentrelay_limits_truncated_values_total', { component: 'limits', signal: 'traces', limit: 'attribute_value_size' }), over);
  assert.equal(counterValue(m, 'agentrelay_limits_truncated_bytes_total', { component: 'limits', signal: 'traces', limit: 'attribute_value_size' }), removed);
});

test('the lookup file is reloaded while the relay runs; a broken version is refused and the previous table stays', async () => {
  fs.writeFileSync(lookupFile, `user.id,team.name\n${USER_A},platform-renamed\n`);
  await waitFor(
    async () => counterValue(await relay.metrics(), 'agentrelay_enrich_lookup_reloads_total', { component: 'enrich', result: 'applied' }) >= 1,
    10_000,
    'the reload',
  );
  const logs = await send('claude-code/tool-call/01-logs.json');
  for (const { resource } of logRecords(logs)) assert.equal(str(resource.attributes, 'team.name'), 'platform-renamed');

  fs.writeFileSync(lookupFile, `user.id,team.name\n${USER_A},"broken\n`);
  await waitFor(
    async () => counterValue(await relay.metrics(), 'agentrelay_enrich_lookup_reloads_total', { component: 'enrich', result: 'failed' }) >= 1,
    10_000,
    'the refused reload',
  );
  await new Promise((r) => setTimeout(r, 300)); // a few more polls of the same broken file
  const again = await send('claude-code/tool-call/01-logs.json');
  for (const { resource } of logRecords(again)) assert.equal(str(resource.attributes, 'team.name'), 'platform-renamed');
  const m = await relay.metrics();
  assert.equal(counterValue(m, 'agentrelay_enrich_lookup_reloads_total', { component: 'enrich', result: 'failed' }), 1, 'one failure per broken version');
  const warnings = relay.output().split('\n').filter((l) => l.includes('lookup file reload failed'));
  assert.equal(warnings.length, 1, 'logged once');
});
