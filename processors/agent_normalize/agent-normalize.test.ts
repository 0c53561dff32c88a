import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { agentNormalizeProcessor, DEFAULT_BOOL_ATTRIBUTES, DEFAULT_DOUBLE_ATTRIBUTES, DEFAULT_INT_ATTRIBUTES } from './index';
import { isoToUnixNano, convertString } from './values';
import { Batch } from '../../src/otlp/batch';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import { compileCondition } from '../../src/conditions';
import { forEachRecord } from '../../src/otlp/partition';
import type { Consumer } from '../../src/pipeline/component';
import type { Signal } from '../../src/otlp/schema';
import { FIXTURES_DIR, listFixtures } from '../../test/helpers/fixtures';
import { firstDifference } from '../../test/helpers/otlp-compare';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function configOf(raw: unknown) {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const cfg = agentNormalizeProcessor.schema.check(raw, ['processors', 'agent_normalize'], { issues: issues as never });
  return { cfg, issues };
}

async function run(signal: Signal, batch: Batch, raw: unknown = {}): Promise<Batch> {
  const { cfg, issues } = configOf(raw);
  assert.deepEqual(issues, []);
  const got: Batch[] = [];
  const next: Consumer = { consume: async (b) => void got.push(b) };
  const p = agentNormalizeProcessor.create(cfg!, {
    id: 'agent_normalize', logger: createLogger({ level: 'silent' }), telemetry: new Telemetry(), signal, pipeline: signal,
  }, next);
  await p.consume(batch);
  assert.equal(got.length, 1, 'the batch is handed on');
  return got[0];
}

const fixture = (rel: string) => path.join(FIXTURES_DIR, rel);
const jsonBatch = (rel: string, signal: Signal) => Batch.fromJsonObject(signal, JSON.parse(fs.readFileSync(fixture(rel), 'utf8')));
const pbBatch = (rel: string, signal: Signal) => Batch.fromProto(signal, fs.readFileSync(fixture(rel)));

/** Each log record of an OTLP/JSON logs request with its resource. */
function logsOf(req: Json): { resource: Json; record: Json }[] {
  const out: { resource: Json; record: Json }[] = [];
  for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) out.push({ resource: rl.resource ?? {}, record: lr });
  return out;
}
const attrOf = (rec: Json, key: string): Json | undefined => (rec.attributes ?? []).find((a: Json) => a.key === key)?.value;
const resourceAgent = (res: Json) => attrOf(res, 'agent.name')?.stringValue;

const INT = new Set(DEFAULT_INT_ATTRIBUTES);
const DOUBLE = new Set(DEFAULT_DOUBLE_ATTRIBUTES);
const BOOL = new Set(DEFAULT_BOOL_ATTRIBUTES);

/**
 * What the default config should make of one recorded log record, written out from
 * the fixtures' documented quirks (NOTES.md) rather than from the processor's code.
 */
function expectedLog(rec: Json, agent: string): Json {
  const out: Json = structuredClone(rec);
  const name = attrOf(rec, 'event.name')?.stringValue as string | undefined;
  if (name) out.eventName = agent === 'claude_code' && !name.includes('.') ? `claude_code.${name}` : name;
  else if (/^event .*\.rs:\d+$/.test(rec.eventName ?? '')) delete out.eventName;
  if (String(rec.timeUnixNano ?? '0') === '0') out.timeUnixNano = rec.observedTimeUnixNano;
  out.attributes = (rec.attributes ?? []).map((a: Json) => {
    const s = a.value?.stringValue;
    if (typeof s !== 'string') return a;
    if (INT.has(a.key) && /^\d+$/.test(s)) return { key: a.key, value: { intValue: s } };
    if (DOUBLE.has(a.key) && s !== '' && !Number.isNaN(Number(s))) return { key: a.key, value: { doubleValue: Number(s) } };
    if (BOOL.has(a.key) && /^(true|false)$/.test(s)) return { key: a.key, value: { boolValue: s === 'true' } };
    return a;
  });
  return out;
}

describe('logs: every recorded log request, record by record', () => {
  const agentOfDir: Record<string, string> = { 'claude-code': 'claude_code', codex: 'codex', 'gemini-cli': 'gemini_cli' };
  for (const f of listFixtures().filter((x) => x.signal === 'logs')) {
    test(f.name, async () => {
      const agent = agentOfDir[f.name.split(path.sep)[0]];
      const input = f.format === 'json' ? jsonBatch(f.name, 'logs') : pbBatch(f.name, 'logs');
      const before = input.fork().toJsonObject() as Json;
      const out = (await run('logs', input)).toJsonObject() as Json;
      const a = logsOf(before);
      const b = logsOf(out);
      assert.equal(b.length, a.length);
      for (let i = 0; i < a.length; i++) {
        assert.equal(resourceAgent(b[i].resource), agent, `record ${i}: resource agent.name`);
        const diff = firstDifference(b[i].record, expectedLog(a[i].record, agent));
        assert.equal(diff, null, `record ${i} (${attrOf(a[i].record, 'event.name')?.stringValue}): ${diff}`);
        assert.notEqual(String(b[i].record.timeUnixNano ?? '0'), '0', `record ${i} has a time`);
      }
    });
  }
});

test('Codex: the quirks the notes describe are gone', async () => {
  const out = (await run('logs', jsonBatch('codex/exec/04-logs.json', 'logs'))).toJsonObject() as Json;
  const recs = logsOf(out).map((r) => r.record);
  const completed = recs.find((r) => attrOf(r, 'input_token_count'));
  assert.ok(completed, 'the response.completed record with token counts');
  // The first turn of the recorded run: 2002 input (1500 of them cached), 62 output, total 2064.
  assert.deepEqual(attrOf(completed, 'input_token_count'), { intValue: '2002' });
  assert.deepEqual(attrOf(completed, 'output_token_count'), { intValue: '62' });
  assert.deepEqual(attrOf(completed, 'tool_token_count'), { intValue: '2064' });
  assert.deepEqual(attrOf(completed, 'cached_token_count'), { intValue: '1500' }, 'ints stay ints');
  assert.equal(completed.eventName, 'codex.sse_event');
  assert.equal(completed.timeUnixNano, completed.observedTimeUnixNano);
  const toolResult = recs.find((r) => attrOf(r, 'event.name')?.stringValue === 'codex.tool_result')!;
  assert.deepEqual(attrOf(toolResult, 'success'), { boolValue: true });
  assert.equal(typeof attrOf(toolResult, 'duration_ms')?.intValue, 'string', 'duration_ms is an int (int64 in JSON is a string)');
  const debug = recs.filter((r) => !attrOf(r, 'event.name'));
  assert.ok(debug.length > 0);
  for (const r of debug) assert.equal(r.eventName, undefined, 'the call site is not kept as an event name');
});

test('Claude Code: eventName prefixed, the event.name attribute left bare by default, tool_result numbers typed', async () => {
  const out = (await run('logs', jsonBatch('claude-code/tool-call/01-logs.json', 'logs'))).toJsonObject() as Json;
  const recs = logsOf(out).map((r) => r.record);
  const tr = recs.find((r) => attrOf(r, 'event.name')?.stringValue === 'tool_result')!;
  assert.equal(tr.eventName, 'claude_code.tool_result');
  assert.deepEqual(attrOf(tr, 'duration_ms'), { intValue: '75' });
  assert.deepEqual(attrOf(tr, 'tool_input_size_bytes'), { intValue: '114' });
  assert.deepEqual(attrOf(tr, 'success'), { boolValue: true });
  const up = recs.find((r) => attrOf(r, 'event.name')?.stringValue === 'user_prompt')!;
  assert.deepEqual(attrOf(up, 'prompt_length'), { intValue: '20' });
  assert.equal(up.eventName, 'claude_code.user_prompt');
});

test('prefix_event_name_attribute: Claude Code event.name becomes prefixed; `event:` conditions still match either way', async () => {
  const out = await run('logs', jsonBatch('claude-code/tool-call/01-logs.json', 'logs'), { prefix_event_name_attribute: true });
  const names: string[] = [];
  const bare = compileCondition({ event: 'tool_decision' }, [], { issues: [] })!;
  const full = compileCondition({ event: 'claude_code.tool_decision' }, [], { issues: [] })!;
  let matched = 0;
  forEachRecord('logs', out.read(), (r) => {
    names.push(attrOf(r.log as unknown as Json, 'event.name')!.stringValue);
    if (bare(r)) {
      matched++;
      assert.ok(full(r));
    }
  });
  assert.ok(names.length > 0);
  for (const n of names) assert.match(n, /^claude_code\.[a-z_]+$/);
  assert.equal(matched, 1, 'the one tool_decision record');
});

test('prefix_event_name: false keeps Claude Code names bare in eventName', async () => {
  const out = (await run('logs', jsonBatch('claude-code/tool-call/01-logs.json', 'logs'), { prefix_event_name: false })).toJsonObject() as Json;
  for (const { record } of logsOf(out)) assert.equal(record.eventName, attrOf(record, 'event.name')!.stringValue);
});

describe('each switch turns its fix off', () => {
  const codex = () => jsonBatch('codex/exec/04-logs.json', 'logs');
  test('timestamps: false', async () => {
    const out = (await run('logs', codex(), { timestamps: false })).toJsonObject() as Json;
    for (const { record } of logsOf(out)) assert.equal(record.timeUnixNano, undefined);
  });
  test('event_name: false', async () => {
    const out = (await run('logs', codex(), { event_name: false })).toJsonObject() as Json;
    for (const { record } of logsOf(out)) assert.match(record.eventName, /^event otel\/src\/.*\.rs:\d+$/);
  });
  test('numbers: false', async () => {
    const out = (await run('logs', codex(), { numbers: false })).toJsonObject() as Json;
    const completed = logsOf(out).map((r) => r.record).find((r) => attrOf(r, 'input_token_count'))!;
    assert.deepEqual(attrOf(completed, 'input_token_count'), { stringValue: '2002' });
  });
  test('agent_name: false', async () => {
    const out = (await run('logs', codex(), { agent_name: false })).toJsonObject() as Json;
    for (const { resource } of logsOf(out)) assert.equal(resourceAgent(resource), undefined);
  });
  test('int_attributes replaces the list', async () => {
    const out = (await run('logs', codex(), { int_attributes: ['input_token_count'] })).toJsonObject() as Json;
    const completed = logsOf(out).map((r) => r.record).find((r) => attrOf(r, 'input_token_count'))!;
    assert.deepEqual(attrOf(completed, 'input_token_count'), { intValue: '2002' });
    assert.deepEqual(attrOf(completed, 'output_token_count'), { stringValue: '62' });
  });
  test('all off: the batch is handed on untouched, with its original protobuf bytes', async () => {
    const input = pbBatch('codex/exec-protobuf/04-logs.pb', 'logs');
    const bytes = input.toProto();
    const out = await run('logs', input, { timestamps: false, event_name: false, numbers: false, agent_name: false });
    assert.equal(out.toProto(), bytes);
  });
});

test('a batch needing no fix keeps its protobuf bytes (Gemini CLI metrics already tagged)', async () => {
  const tagged = await run('metrics', jsonBatch('gemini-cli/noninteractive/03-metrics.json', 'metrics'));
  const again = Batch.fromProto('metrics', tagged.toProto());
  const bytes = again.toProto();
  const out = await run('metrics', again);
  assert.equal(out.toProto(), bytes, 'same buffer: not re-encoded');
});

test('agent.name: resource by default on all signals, or on every record', async () => {
  const cases: [string, Signal, string][] = [
    ['claude-code/tool-call/02-metrics.json', 'metrics', 'claude_code'],
    ['codex/exec/01-traces.json', 'traces', 'codex'],
    ['codex/tui/06-metrics.json', 'metrics', 'codex'],
    ['gemini-cli/noninteractive/01-traces.json', 'traces', 'gemini_cli'],
    ['gemini-cli/noninteractive/03-metrics.json', 'metrics', 'gemini_cli'],
    ['codex/exec-protobuf/01-traces.pb', 'traces', 'codex'],
  ];
  for (const [rel, signal, agent] of cases) {
    const load = () => (rel.endsWith('.pb') ? pbBatch(rel, signal) : jsonBatch(rel, signal));
    const res = await run(signal, load());
    let n = 0;
    forEachRecord(signal, res.read(), (r) => {
      n++;
      assert.equal(attrOf(r.resource as unknown as Json, 'agent.name')?.stringValue, agent, rel);
    });
    assert.ok(n > 0);
    const rec = await run(signal, load(), { agent_name_target: 'record' });
    forEachRecord(signal, rec.read(), (r) => {
      assert.equal(attrOf(r.resource as unknown as Json, 'agent.name'), undefined, `${rel}: not on the resource`);
      const holder = (r.log ?? r.span ?? r.dataPoint) as unknown as Json;
      assert.equal(attrOf(holder, 'agent.name')?.stringValue, agent, `${rel}: on the record`);
    });
  }
});

test('agent detection by scope when the service was renamed, by service_names, and an existing agent.name is kept', async () => {
  const req = (service: string, scope: string, extra: Json[] = []) =>
    Batch.fromJsonObject('logs', {
      resourceLogs: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }, ...extra] },
        scopeLogs: [{ scope: { name: scope }, logRecords: [{ timeUnixNano: '1', attributes: [{ key: 'event.name', value: { stringValue: 'api_request' } }] }] }],
      }],
    });
  const agentAndName = async (b: Batch, cfg: unknown = {}) => {
    const j = logsOf((await run('logs', b, cfg)).toJsonObject() as Json)[0];
    return [resourceAgent(j.resource), j.record.eventName];
  };
  assert.deepEqual(await agentAndName(req('my-claude', 'com.anthropic.claude_code.events')), ['claude_code', 'claude_code.api_request']);
  assert.deepEqual(await agentAndName(req('codex-app-server', 'codex_otel.log_only')), ['codex', 'api_request']);
  assert.deepEqual(await agentAndName(req('wrapper', 'x'), { service_names: { wrapper: 'claude_code' } }), ['claude_code', 'claude_code.api_request']);
  assert.deepEqual(await agentAndName(req('unknown', 'x')), [undefined, 'api_request'], 'an unknown sender: no agent.name, no prefix');
  assert.deepEqual(
    await agentAndName(req('claude-code', 'x', [{ key: 'agent.name', value: { stringValue: 'custom' } }])),
    ['custom', 'claude_code.api_request'],
    'a resource that names itself keeps its name, and is still known as Claude Code by its service name',
  );
});

test('time from event.timestamp when observedTimeUnixNano is zero too', async () => {
  const b = Batch.fromJsonObject('logs', {
    resourceLogs: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'codex_exec' } }] },
      scopeLogs: [{ logRecords: [
        { timeUnixNano: '0', attributes: [{ key: 'event.timestamp', value: { stringValue: '2026-11-23T16:11:20.270Z' } }] },
        { attributes: [{ key: 'event.timestamp', value: { stringValue: '2026-11-23T17:11:20.123456789+01:00' } }] },
        { attributes: [{ key: 'event.timestamp', value: { stringValue: 'yesterday' } }] },
      ] }],
    }],
  });
  const recs = logsOf((await run('logs', b)).toJsonObject() as Json).map((r) => r.record);
  assert.equal(recs[0].timeUnixNano, '1795450280270000000');
  assert.equal(recs[1].timeUnixNano, '1795450280123456789');
  assert.equal(recs[2].timeUnixNano, undefined, 'an unreadable time is left unset');
});

test('value conversions', () => {
  assert.deepEqual(convertString('2003', 'int'), { intValue: 2003 });
  assert.deepEqual(convertString('12.5', 'int'), { doubleValue: 12.5 }, 'a fraction is kept');
  assert.equal(String(convertString('9223372036854775807', 'int')!.intValue), '9223372036854775807');
  assert.equal(convertString('9223372036854775808', 'int'), undefined, 'beyond int64 stays text');
  assert.equal(convertString('', 'int'), undefined);
  assert.equal(convertString('0x10', 'int'), undefined);
  assert.equal(convertString('n/a', 'double'), undefined);
  assert.deepEqual(convertString('0.033315', 'double'), { doubleValue: 0.033315 });
  assert.deepEqual(convertString('TRUE', 'bool'), { boolValue: true });
  assert.equal(convertString('yes', 'bool'), undefined);
  assert.equal(isoToUnixNano('1969-12-31T23:59:59Z'), undefined);
});

test('config: {} runs with defaults; mistakes name their YAML path', () => {
  const ok = configOf({});
  assert.deepEqual(ok.issues, []);
  assert.equal(ok.cfg!.agent_name_target, 'resource');
  assert.equal(ok.cfg!.prefix_event_name_attribute, false);
  const bad = configOf({ agent_name_target: 'scope', timestamps: 'maybe', double_attributes: ['duration_ms'], service_names: { x: 'cursor' } });
  const paths = bad.issues.map((i) => i.path.join('.')).sort();
  assert.deepEqual(paths, [
    'processors.agent_normalize.agent_name_target',
    'processors.agent_normalize.service_names.x',
    'processors.agent_normalize.timestamps',
  ]);
  const dup = configOf({ double_attributes: ['duration_ms'] });
  assert.deepEqual(dup.issues.map((i) => i.path.join('.')), ['processors.agent_normalize.double_attributes.0']);
});

test('the README example is a valid config', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../../processors/agent_normalize/README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as Json);
  assert.ok(blocks.length > 0);
  for (const b of blocks) {
    for (const [id, cfg] of Object.entries(b.processors ?? {})) {
      assert.match(id, /^agent_normalize(\/|$)/);
      assert.deepEqual(configOf(cfg).issues, [], id);
    }
  }
});
