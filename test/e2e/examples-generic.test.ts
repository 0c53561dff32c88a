// The two example configs in examples/, run as they are (only their ${env:...} values
// point them at free ports and a temp dir), on every recorded JSON request of the three agents.
//
// generic-pipeline.yaml: POST each fixture --> relay --> file. What should come out of
// each record is written down here from the example's comments and the fixtures' notes
// (not from the processors' code), and every output record is checked against it.
//
// route-tool-decisions.yaml: POST each fixture --> relay A --> tool decisions to a file,
// the rest over otlphttp to relay B (the "main backend") --> B's file.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { FIXTURES_DIR, listFixtures, type Fixture } from '../helpers/fixtures';
import { firstDifference } from '../helpers/otlp-compare';
import type { Signal } from '../../src/otlp/schema';

for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) delete process.env[k];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const EXAMPLES = path.resolve(__dirname, '../../../examples');
const HMAC_KEY = 'example-test-secret-0123456789abcdef-0123';
const USER_A = 'b91b1beaebb1771f832f4c5e9ab692b076062ffdb854b4151df91ff2ed314aed'; // claude-code/tool-call
const USER_B = 'e5e099648da8d136f195fc38cf6caf410e6682b08fd046fe791d58dc3c003e3c'; // claude-code/tool-call-2
const VALUE_LIMIT = 16 * 1024;

const JSON_FIXTURES = listFixtures().filter((f) => f.format === 'json');
const agentOf = (f: Fixture) => ({ 'claude-code': 'claude_code', codex: 'codex', 'gemini-cli': 'gemini_cli' })[f.name.split(path.sep)[0]]!;
const readFixture = (f: Fixture) => JSON.parse(fs.readFileSync(f.file, 'utf8')) as Json;
const RES_FIELD: Record<Signal, string> = { logs: 'resourceLogs', metrics: 'resourceMetrics', traces: 'resourceSpans' };

const attrMap = (attrs: Json[] | undefined) => new Map<string, Json>((attrs ?? []).map((a) => [a.key, a.value ?? {}]));
const str = (attrs: Json[] | undefined, key: string) => attrMap(attrs).get(key)?.stringValue as string | undefined;
const utf8Len = (s: string) => Buffer.byteLength(s, 'utf8');

interface Rec {
  resource: Json;
  /** Metric name for a data point, else undefined. */
  metric?: string;
  record: Json;
}

/** Log records, spans or metric data points of OTLP/JSON requests, in order, each with its resource. */
function recordsOf(signal: Signal, reqs: Json[]): Rec[] {
  const out: Rec[] = [];
  for (const req of reqs)
    for (const r of req[RES_FIELD[signal]] ?? []) {
      const resource = r.resource ?? {};
      for (const sc of r.scopeLogs ?? r.scopeSpans ?? r.scopeMetrics ?? []) {
        if (signal === 'logs') for (const record of sc.logRecords ?? []) out.push({ resource, record });
        else if (signal === 'traces') for (const record of sc.spans ?? []) out.push({ resource, record });
        else
          for (const m of sc.metrics ?? [])
            for (const record of (m.sum ?? m.gauge ?? m.histogram ?? m.exponentialHistogram ?? m.summary)?.dataPoints ?? [])
              out.push({ resource, metric: m.name, record });
      }
    }
  return out;
}

/** The complete lines of a JSON-lines file (a large line may still be half written). */
function readJsonLines(file: string): Json[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Json);
}

async function post(port: number, signal: Signal, body: Buffer, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/${signal}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: new Uint8Array(body) });
  assert.equal(res.status, 200, await res.text());
}

// ---------------------------------------------------------------------------------------
// generic-pipeline.yaml

/** Attributes the example deletes (attributes/privacy) and hashes. */
const DELETED = /^(prompt|response|tool_parameters|tool_input|arguments|output|function_args|request_text|response_text|gen_ai\.(input|output)\.messages)$/;
const HASHED = /^user\.(id|email|account_uuid)$/;
const hmac = (s: string) => createHmac('sha256', Buffer.from(HMAC_KEY)).update(s, 'utf8').digest('hex');

/** The longest prefix of at most `max` UTF-8 bytes, by code points. */
function cut(s: string, max: number): string {
  let n = 0;
  let out = '';
  for (const ch of s) {
    n += utf8Len(ch);
    if (n > max) break;
    out += ch;
  }
  return out;
}

/** Is `rec` (from the fixture) one that filter/noise drops? */
function dropped(signal: Signal, agent: string, r: Rec): boolean {
  if (signal === 'logs' && agent === 'codex') {
    const a = attrMap(r.record.attributes);
    if (a.get('event.name')?.stringValue === 'codex.sse_event' && a.get('event.kind')?.stringValue !== 'response.completed') return true;
    if ((r.record.severityNumber ?? 0) < 9) return true; // below INFO: the DEBUG text records
  }
  return signal === 'metrics' && r.metric === 'gemini_cli.startup.duration';
}

/** The team the example gives each run: the x-team header (sent with Codex), the lookup file (Claude Code), else the static value. */
function teamOf(agent: string, rec: Rec): string {
  if (agent === 'codex') return 'payments';
  const uid = str(rec.record.attributes, 'user.id');
  if (agent === 'claude_code') return uid === USER_A ? 'platform' : uid === USER_B ? 'data, science' : 'unassigned';
  return 'unassigned';
}

/** Checks an output attribute list against its input, by the example's rules. */
function checkAttributes(got: Json[], sent: Json[], where: string): void {
  const want = sent.filter((a) => !DELETED.test(a.key));
  assert.deepEqual(got.map((a) => a.key), want.map((a) => a.key), `${where}: the attributes, less the deleted ones, in order`);
  for (let i = 0; i < want.length; i++) {
    const key = want[i].key;
    const w = want[i].value ?? {};
    const g = got[i].value ?? {};
    if (HASHED.test(key) && typeof w.stringValue === 'string') {
      assert.deepEqual(g, { stringValue: hmac(w.stringValue) }, `${where}: ${key} is hashed`);
    } else if (typeof w.stringValue === 'string' && typeof g.stringValue !== 'string') {
      // agent_normalize's numbers: a number or boolean spelled the same.
      const n = g.intValue ?? g.doubleValue ?? g.boolValue;
      assert.ok(n !== undefined, `${where}: ${key} ${JSON.stringify(g)}`);
      assert.equal(String(n), w.stringValue.toLowerCase(), `${where}: ${key} converted without change of value`);
      assert.match(key, /(_ms|_count|_length|_bytes|tokens|^success)$/, `${where}: only known number attributes are converted`);
    } else if (typeof w.stringValue === 'string') {
      assert.equal(g.stringValue, cut(w.stringValue, VALUE_LIMIT), `${where}: ${key}`);
    } else {
      assert.equal(firstDifference(g, w), null, `${where}: ${key}`);
    }
  }
}

function checkResource(got: Json, sent: Json, agent: string, team: string, where: string): void {
  const g = attrMap(got.attributes);
  const w = attrMap(sent.attributes);
  assert.equal(g.get('agent.name')?.stringValue, agent, `${where}: agent.name`);
  assert.equal(g.has('process.command_args'), false, `${where}: no command line`);
  assert.equal(g.has('env'), false);
  assert.equal(g.get('deployment.environment.name')?.stringValue, w.get('env')?.stringValue ?? 'e2e', `${where}: environment`);
  assert.equal(g.get('team.name')?.stringValue, team, `${where}: team`);
  if (team === 'platform') assert.equal(g.get('cost_center')?.stringValue, 'cc-7');
  const added = new Set(['agent.name', 'deployment.environment.name', 'team.name', 'cost_center']);
  for (const [k, v] of w) if (k !== 'process.command_args' && k !== 'env') assert.equal(firstDifference(g.get(k), v), null, `${where}: resource ${k}`);
  for (const k of g.keys()) assert.ok(w.has(k) || added.has(k), `${where}: unexpected resource attribute ${k}`);
}

function checkRecord(signal: Signal, agent: string, g: Rec, w: Rec, where: string): void {
  assert.equal(g.metric, w.metric, `${where}: same metric`);
  checkAttributes(g.record.attributes ?? [], w.record.attributes ?? [], where);
  checkResource(g.resource, w.resource, agent, teamOf(agent, w), where);
  if (signal === 'logs') {
    const name = str(w.record.attributes, 'event.name');
    assert.equal(g.record.eventName, agent === 'claude_code' ? `claude_code.${name}` : name, `${where}: eventName`);
    const t = String(w.record.timeUnixNano ?? '0') === '0' ? w.record.observedTimeUnixNano : w.record.timeUnixNano;
    assert.equal(String(g.record.timeUnixNano), String(t), `${where}: time`);
    assert.equal(firstDifference(g.record.body ?? null, w.record.body ?? null), null, `${where}: body`);
    assert.equal(g.record.severityNumber, w.record.severityNumber);
  } else if (signal === 'traces') {
    assert.equal(g.record.spanId, w.record.spanId, `${where}: same span`);
    assert.equal(g.record.name, w.record.name);
    const events = (w.record.events ?? []).filter((e: Json) => !/^event otel\//.test(e.name ?? ''));
    assert.deepEqual((g.record.events ?? []).map((e: Json) => e.name), events.map((e: Json) => e.name), `${where}: span events`);
    events.forEach((e: Json, i: number) => checkAttributes(g.record.events[i].attributes ?? [], e.attributes ?? [], `${where} event ${i}`));
  } else {
    for (const k of ['asInt', 'asDouble', 'count', 'sum', 'timeUnixNano']) assert.equal(String(g.record[k]), String(w.record[k]), `${where}: ${k}`);
  }
}

describe('examples/generic-pipeline.yaml on every recorded JSON request of the three agents', () => {
  let relay: RunningRelay;
  let port: number;
  let out: string;
  const seen: Record<Signal, number> = { logs: 0, metrics: 0, traces: 0 };

  before(async () => {
    const dir = tempDir();
    port = await freePort();
    out = path.join(dir, 'out.jsonl');
    const teams = path.join(dir, 'teams.csv');
    fs.writeFileSync(teams, `user.id,team.name,cost_center\n${USER_A},platform,cc-7\n${USER_B},"data, science",\n`);
    relay = await startRelay(fs.readFileSync(path.join(EXAMPLES, 'generic-pipeline.yaml'), 'utf8'), {
      dir,
      env: {
        AGENTRELAY_HMAC_KEY: HMAC_KEY,
        AGENTRELAY_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
        AGENTRELAY_HTTP_ENDPOINT: `127.0.0.1:${port}`,
        DEPLOYMENT_ENV: 'e2e',
        AGENTRELAY_TEAMS_FILE: teams,
        AGENTRELAY_OUTPUT: out,
      },
    });
  });

  after(async () => {
    if (!relay) return;
    const code = await relay.stop();
    const log = relay.output();
    fs.rmSync(relay.dir, { recursive: true, force: true });
    assert.equal(code, 0, log);
    for (const secret of ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'xoxb-1234567890-abcdefghij']) assert.ok(!log.includes(secret));
  });

  for (const f of JSON_FIXTURES) {
    test(f.name, async () => {
      const agent = agentOf(f);
      const sent = recordsOf(f.signal, [readFixture(f)]);
      const kept = sent.filter((r) => !dropped(f.signal, agent, r));
      await post(port, f.signal, fs.readFileSync(f.file), agent === 'codex' ? { 'x-team': 'payments' } : {});
      const from = seen[f.signal];
      const all = await waitFor(() => {
        const recs = recordsOf(f.signal, readJsonLines(out));
        return recs.length >= from + kept.length ? recs : undefined;
      }, 15_000, `${kept.length} ${f.signal} records of ${f.name}`);
      seen[f.signal] = from + kept.length;
      const got = all!.slice(from);
      assert.equal(got.length, kept.length, 'exactly the records the filter keeps');
      kept.forEach((w, i) => checkRecord(f.signal, agent, got[i], w, `${f.name} #${i}`));
      // The whole output: no secret planted in the tool calls, no value over the limit.
      const text = JSON.stringify(got);
      for (const secret of ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'xoxb-1234567890-abcdefghij', 'sk-proj-FAKE'])
        assert.ok(!text.includes(secret), `${secret} left the relay`);
    });
  }

  test('the oversized Gemini CLI values were cut, and the filter did drop records', () => {
    const reqs = readJsonLines(out);
    const spans = recordsOf('traces', reqs).filter((r) => r.resource.attributes.some((a: Json) => a.value?.stringValue === 'gemini_cli'));
    const sys = spans.flatMap((s) => s.record.attributes.filter((a: Json) => a.key === 'gen_ai.system_instructions')).map((a: Json) => utf8Len(a.value.stringValue));
    assert.ok(sys.includes(VALUE_LIMIT), `system instructions cut to 16 KiB: ${sys}`);
    const sentLogs = JSON_FIXTURES.filter((f) => f.signal === 'logs').reduce((n, f) => n + recordsOf('logs', [readFixture(f)]).length, 0);
    assert.ok(seen.logs < sentLogs, 'Codex streaming and debug records were dropped');
  });
});

// ---------------------------------------------------------------------------------------
// route-tool-decisions.yaml

const DECISIONS = new Set(['tool_decision', 'codex.tool_decision', 'gemini_cli.tool_call']);
const identity = (r: Rec) => `${str(r.record.attributes, 'event.name')}|${str(r.record.attributes, 'event.timestamp')}|${r.record.observedTimeUnixNano}`;

describe('examples/route-tool-decisions.yaml: tool decisions to a file, the rest to the main backend', () => {
  let backend: RunningRelay;
  let relay: RunningRelay;
  let port: number;
  let decisionsFile: string;
  let backendFile: string;

  before(async () => {
    const backendPort = await freePort();
    backend = await startRelay(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${backendPort}
exporters:
  file: {path: backend.jsonl}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [file]}
    metrics: {receivers: [otlp], exporters: [file]}
    traces: {receivers: [otlp], exporters: [file]}
`);
    backendFile = path.join(backend.dir, 'backend.jsonl');
    port = await freePort();
    const dir = tempDir();
    decisionsFile = path.join(dir, 'audit', 'tool-decisions.jsonl');
    relay = await startRelay(fs.readFileSync(path.join(EXAMPLES, 'route-tool-decisions.yaml'), 'utf8'), {
      dir,
      env: {
        AGENTRELAY_GRPC_ENDPOINT: `127.0.0.1:${await freePort()}`,
        AGENTRELAY_HTTP_ENDPOINT: `127.0.0.1:${port}`,
        BACKEND_OTLP_ENDPOINT: `http://127.0.0.1:${backendPort}`,
        TOOL_DECISIONS_FILE: decisionsFile,
      },
    });
  });

  after(async () => {
    for (const r of [relay, backend]) {
      if (!r) continue;
      const code = await r.stop();
      const log = r.output();
      fs.rmSync(r.dir, { recursive: true, force: true });
      assert.equal(code, 0, log);
    }
  });

  test('every log record of the three agents goes to exactly one place; metrics and traces all reach the backend', async () => {
    const expectDecisions: Rec[] = [];
    const expectMain: Rec[] = [];
    const counts: Record<Signal, number> = { logs: 0, metrics: 0, traces: 0 };
    for (const f of JSON_FIXTURES) {
      const recs = recordsOf(f.signal, [readFixture(f)]);
      if (f.signal === 'logs') for (const r of recs) (DECISIONS.has(str(r.record.attributes, 'event.name') ?? '') ? expectDecisions : expectMain).push(r);
      else counts[f.signal] += recs.length;
      await post(port, f.signal, fs.readFileSync(f.file));
    }
    const agents = new Set(expectDecisions.map((r) => str(r.resource.attributes, 'service.name')));
    assert.deepEqual([...agents].sort(), ['claude-code', 'codex_cli_rs', 'codex_exec', 'gemini-cli'], 'decisions from all three agents');

    const decisions = await waitFor(() => {
      const recs = recordsOf('logs', readJsonLines(decisionsFile));
      return recs.length >= expectDecisions.length ? recs : undefined;
    }, 15_000, 'the tool decisions file');
    const atBackend = () => {
      const reqs = readJsonLines(backendFile);
      return { logs: recordsOf('logs', reqs), metrics: recordsOf('metrics', reqs), traces: recordsOf('traces', reqs) };
    };
    const main = (await waitFor(() => {
      const b = atBackend();
      return b.logs.length >= expectMain.length && b.metrics.length >= counts.metrics && b.traces.length >= counts.traces ? b : undefined;
    }, 20_000, 'the main backend'))!;

    // The audit file: exactly the decisions, in the order sent, normalized.
    assert.deepEqual(decisions!.map(identity), expectDecisions.map(identity));
    for (const d of decisions!) {
      assert.match(d.record.eventName, /^(claude_code|codex|gemini_cli)\.(tool_decision|tool_call)$/);
      assert.ok(['claude_code', 'codex', 'gemini_cli'].includes(str(d.resource.attributes, 'agent.name')!));
    }
    // The backend: every other log record once (export requests may arrive in any order), and no decision.
    assert.deepEqual(main.logs.map(identity).sort(), expectMain.map(identity).sort());
    assert.ok(!main.logs.some((r) => DECISIONS.has(str(r.record.attributes, 'event.name') ?? '')));
    assert.equal(main.metrics.length, counts.metrics);
    assert.equal(main.traces.length, counts.traces);
    for (const r of [...main.logs, ...main.metrics, ...main.traces]) assert.ok(str(r.resource.attributes, 'agent.name'), 'agent_normalize ran on the main path');
  });
});
