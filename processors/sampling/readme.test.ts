// The README's YAML is loaded as written: the built-in rule listings equal the rules
// the processor runs, every example config validates, and the example rules do what
// their comments say on records shaped like the agents' own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { Batch } from '../../src/otlp/batch';
import type { KeyValue, LogRecord, Span } from '../../src/otlp/model';
import { loadConfigText } from '../../src/config/load';
import { checkConfig, harness, itemsOf, jsonOf, type Json } from './harness';
import { DEFAULT_DROP_RULES, DEFAULT_KEEP_RULES } from './rules';

// dist/processors/sampling -> processors/sampling
const README = path.resolve(__dirname, '../../../processors/sampling/README.md');
const blocks = [...fs.readFileSync(README, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

function block(marker: string): string {
  const b = blocks.find((x) => x.includes(marker));
  assert.ok(b, `README has a yaml block with ${marker}`);
  return b;
}

/** The config of one processor id from a README example. */
function example(id: string): Json {
  for (const b of blocks) {
    const doc = parse(b) as Json;
    if (doc?.processors?.[id] !== undefined) return doc.processors[id] ?? {};
  }
  assert.fail(`no README example configures ${id}`);
}

test('the README lists the built-in rules exactly as the processor runs them', () => {
  assert.deepEqual(parse(block('# built-in keep rules')), DEFAULT_KEEP_RULES);
  assert.deepEqual(parse(block('# built-in drop rules')), DEFAULT_DROP_RULES);
});

test('every README example config validates', () => {
  let configs = 0;
  for (const b of blocks) {
    const doc = parse(b) as Json;
    if (!doc?.processors) continue;
    for (const [id, cfg] of Object.entries(doc.processors as Json)) {
      if (!id.startsWith('sampling')) continue;
      const { issues } = checkConfig(cfg);
      assert.deepEqual(issues, [], `README example ${id}`);
      configs++;
    }
    if (doc.service) {
      const r = loadConfigText(b);
      assert.deepEqual(r.errors, [], 'the pipeline example is a whole valid config');
    }
  }
  assert.ok(configs >= 3, `${configs} example configs`);
});

const s = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
const n = (key: string, v: number): KeyValue => ({ key, value: { doubleValue: v } });

function logs(records: LogRecord[], service = 'claude-code'): Batch {
  return Batch.fromModel('logs', {
    resourceLogs: [{ resource: { attributes: [s('service.name', service)] }, scopeLogs: [{ scope: { name: 'x', attributes: [] }, logRecords: records }] }],
  });
}

test('README example sampling/team: each rule keeps or drops what its comment says', async () => {
  const cfg = { ...example('sampling/team'), sampling_percentage: 0 }; // with nothing sampled, only rules keep
  const h = harness(cfg, 'logs');
  const rec = (event: string, ...attrs: KeyValue[]): LogRecord => ({ attributes: [s('event.name', event), s('session.id', 'S'), ...attrs] });
  await h.consume(logs([
    rec('api_request', n('cost_usd', 0.7)), //                                   expensive_request
    rec('api_request', n('cost_usd', 0.03)), //                                  sampled (0 %): dropped
    rec('tool_result', s('duration_ms', '45000'), s('success', 'true')), //        slow_tool (a numeric string)
    rec('codex.tool_decision', s('decision', 'denied')), //                      built-in tool_decision first
    rec('tool_result', s('success', 'false'), s('duration_ms', '12')), //          keep.3
    rec('tool_decision', s('tool_parameters', '{"bash_command":"rm -rf /tmp/x"}')), // built-in first
    rec('tool_result', s('tool_parameters', '{"bash_command":"rm -rf build"}'), s('success', 'true')), // keep.4
    rec('gemini_cli.startup_stats'), //                                             dropped by startup_stats
  ]));
  await h.consume(logs([{ attributes: [s('event.name', 'gemini_cli.api_response')], severityNumber: 9 }], 'gemini-cli')); // gemini_info
  const kept = (rule: string) => h.telemetry.total('sampling_decisions', { decision: 'kept', reason: 'keep_rule', rule });
  assert.equal(kept('expensive_request'), 1);
  assert.equal(kept('slow_tool'), 1);
  assert.equal(kept('tool_decision'), 2);
  assert.equal(kept('keep.3'), 1);
  assert.equal(kept('keep.4'), 1);
  assert.equal(kept('gemini_info'), 1);
  assert.equal(h.telemetry.total('sampling_decisions', { decision: 'dropped', reason: 'drop_rule', rule: 'startup_stats' }), 1);
  assert.equal(h.telemetry.total('sampling_decisions', { decision: 'dropped', reason: 'sampled' }), 1);
  assert.equal(itemsOf(jsonOf(h.out)).length, 7);

  // The span rule of the same example.
  const ht = harness(cfg, 'traces');
  const span = (name: string): Span => ({
    traceId: Buffer.from('5bdd48afd5a616d6a040285ca675b9a7', 'hex'), spanId: Buffer.from('0102030405060708', 'hex'), name, attributes: [], events: [], links: [],
  });
  await ht.consume(Batch.fromModel('traces', {
    resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'codex_exec', attributes: [] }, spans: [span('fs.read_file'), span('fs.get_metadata'), span('run_turn')] }] }],
  }));
  assert.equal(ht.telemetry.total('sampling_decisions', { reason: 'drop_rule', rule: 'fs_spans' }), 2);
});

test('README example sampling/stream: response.completed always kept; per-event percentages apply', async () => {
  const cfg = example('sampling/stream');
  const h = harness(cfg, 'logs');
  const records: LogRecord[] = [];
  for (let i = 0; i < 400; i++) {
    const conv = s('conversation.id', `conv-${i}`);
    records.push({ attributes: [s('event.name', 'codex.sse_event'), s('event.kind', 'response.completed'), conv] });
    records.push({ attributes: [s('event.name', 'codex.sse_event'), s('event.kind', 'response.created'), conv] });
    records.push({ attributes: [s('event.name', 'codex.api_request'), conv] });
    records.push({ attributes: [s('event.name', 'codex.user_prompt'), conv] });
  }
  await h.consume(logs(records, 'codex_exec'));
  const out = itemsOf(jsonOf(h.out));
  const count = (pred: (x: (typeof out)[number]) => boolean) => out.filter(pred).length;
  assert.equal(count((x) => x.attrs['event.kind'] === 'response.completed'), 400);
  const created = count((x) => x.attrs['event.kind'] === 'response.created');
  const api = count((x) => x.attrs['event.name'] === 'codex.api_request');
  const prompts = count((x) => x.attrs['event.name'] === 'codex.user_prompt');
  assert.ok(created < 50, `codex.sse_event at 5 %: ${created} of 400`);
  assert.ok(api > 150 && api < 250, `api_request at 50 %: ${api} of 400`);
  assert.ok(prompts > 40 && prompts < 130, `the rest at 20 %: ${prompts} of 400`);
});
