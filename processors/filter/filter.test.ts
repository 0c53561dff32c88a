import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { filterProcessor } from './index';
import { Batch } from '../../src/otlp/batch';
import { firstDifference } from '../../test/helpers/otlp-compare';
import {
  attr, eventName, fixtureBatch, fixtureJson, harness, loadExample, readmeOf, records, scalar, spanEvents, yamlBlocks, type Json,
} from '../attributes/testing';
import { loadConfigText } from '../../src/config/load';
import { parse as parseYaml } from 'yaml';
import pino from 'pino';
import { Telemetry } from '../../src/telemetry/metrics';

const CODEX_LOGS = 'codex/exec/04-logs.json';
const DELTA = { all: [{ event: 'codex.sse_event' }, { attribute: 'event.kind', equals: 'response.output_text.delta' }] };

/** The records of `expected` (plain JSON) that `keep` accepts must be exactly those of `out`, unchanged and in order. */
function assertKept(signal: 'logs' | 'traces' | 'metrics', input: Json, out: Batch | undefined, keep: (r: Json, parent?: Json) => boolean) {
  const want = records(signal, input).filter((r) => keep(r.record, r.parent));
  const got = out ? records(signal, out.toJsonObject()) : [];
  assert.equal(got.length, want.length, 'number of records left');
  for (let i = 0; i < want.length; i++) {
    const d = firstDifference(got[i].record, want[i].record);
    assert.equal(d, null, `record ${i}: ${d}`);
    assert.equal(firstDifference(got[i].resource, want[i].resource), null, `resource of record ${i}`);
  }
}

test("Codex: drops only the per-chunk response.output_text.delta sse_event records, and counts them", async () => {
  const h = harness(filterProcessor, { logs: { exclude: [DELTA] } }, 'logs');
  const input = fixtureJson(CODEX_LOGS);
  const isDelta = (r: Json) => eventName(r) === 'codex.sse_event' && scalar(r, 'event.kind') === 'response.output_text.delta';
  const deltas = records('logs', input).filter((r) => isDelta(r.record)).length;
  assert.equal(deltas, 3, 'the recording holds 3 text deltas');
  const out = await h.run(fixtureBatch(CODEX_LOGS));
  assertKept('logs', input, out, (r) => !isDelta(r));
  assert.equal(h.dropped(), 3);
  // The other sse_event kinds, including the response.completed records with the token counts, stay.
  const kinds = records('logs', out!.toJsonObject()).map((r) => scalar(r.record, 'event.kind')).filter(Boolean);
  assert.equal(kinds.filter((k) => k === 'response.completed').length, 4);
  assert.ok(kinds.includes('response.output_text.done'));
});

test('Codex over protobuf: the same drop, and the result re-encodes', async () => {
  const h = harness(filterProcessor, { logs: { exclude: DELTA } }, 'logs');
  const inBatch = fixtureBatch('codex/exec-protobuf/04-logs.pb');
  const before = records('logs', inBatch.toJsonObject());
  const deltas = before.filter((r) => scalar(r.record, 'event.kind') === 'response.output_text.delta').length;
  assert.ok(deltas > 0);
  const out = await h.run(fixtureBatch('codex/exec-protobuf/04-logs.pb'));
  const again = Batch.fromProto('logs', out!.toProto());
  const after = records('logs', again.toJsonObject());
  assert.equal(after.length, before.length - deltas);
  assert.ok(after.every((r) => scalar(r.record, 'event.kind') !== 'response.output_text.delta'));
  assert.equal(h.dropped(), deltas);
});

test('a scope left empty is removed: Codex DEBUG text records dropped by severity', async () => {
  const h = harness(filterProcessor, { logs: { exclude: [{ not: { severity_at_least: 'INFO' } }] } }, 'logs');
  const input = fixtureJson(CODEX_LOGS);
  const scopesBefore = input.resourceLogs[0].scopeLogs.map((s: Json) => s.scope.name);
  assert.ok(scopesBefore.includes('codex_otel::metrics::client'));
  const out = (await h.run(fixtureBatch(CODEX_LOGS)))!.toJsonObject() as Json;
  const scopesAfter = out.resourceLogs[0].scopeLogs.map((s: Json) => s.scope.name);
  assert.deepEqual(scopesAfter, scopesBefore.filter((n: string) => n !== 'codex_otel::metrics::client'));
  assertKept('logs', input, Batch.fromJsonObject('logs', out), (r) => (r.severityNumber ?? 0) >= 9);
  assert.equal(h.dropped(), 1);
});

test('include keeps only matching records; a resource left empty is removed', async () => {
  const files = ['claude-code/tool-call/01-logs.json', CODEX_LOGS, 'gemini-cli/noninteractive/02-logs.json'];
  const joined = Batch.concat('logs', files.map(fixtureBatch));
  const config = {
    logs: {
      include: [
        { event: 'claude_code.api_request' },
        { all: [{ event: 'codex.sse_event' }, { attribute: 'event.kind', equals: 'response.completed' }] },
      ],
    },
  };
  const h = harness(filterProcessor, config, 'logs');
  const out = (await h.run(joined))!.toJsonObject() as Json;
  // Gemini CLI's resource had nothing that matched: it is gone.
  const services = out.resourceLogs.map((rl: Json) => scalar(rl.resource, 'service.name'));
  assert.deepEqual(services, ['claude-code', 'codex_exec']);
  const names = records('logs', out).map((r) => `${eventName(r.record)}/${scalar(r.record, 'event.kind') ?? ''}`);
  assert.deepEqual(names, [...Array(3).fill('api_request/'), ...Array(4).fill('codex.sse_event/response.completed')]);
  const total = files.reduce((n, f) => n + records('logs', fixtureJson(f)).length, 0);
  assert.equal(h.dropped(), total - 7);
});

test('include and exclude together: kept when matching include and no exclude', async () => {
  const h = harness(
    filterProcessor,
    { logs: { include: { event: 'claude_code.api_request' }, exclude: [{ attribute: 'query_source', equals: 'generate_session_title' }] } },
    'logs',
  );
  const input = fixtureJson('claude-code/tool-call/01-logs.json');
  const out = await h.run(fixtureBatch('claude-code/tool-call/01-logs.json'));
  assertKept('logs', input, out, (r) => eventName(r) === 'api_request' && scalar(r, 'query_source') !== 'generate_session_title');
  assert.equal(records('logs', out!.toJsonObject()).length, 2);
});

test('Gemini CLI: spans dropped by name; the others stay as they were', async () => {
  const file = 'gemini-cli/noninteractive/01-traces.json';
  const h = harness(filterProcessor, { spans: { exclude: [{ field: 'name', in: ['schedule_tool_calls', 'tool_call'] }] } }, 'traces');
  const input = fixtureJson(file);
  const out = await h.run(fixtureBatch(file));
  assertKept('traces', input, out, (s) => s.name === 'llm_call');
  assert.deepEqual([...new Set(records('traces', out!.toJsonObject()).map((r) => r.record.name))], ['llm_call']);
  assert.equal(h.dropped(), 2);
});

test('Codex: span events named after a source location are dropped, their spans stay; events counted apart', async () => {
  const file = 'codex/exec/01-traces.json';
  const h = harness(filterProcessor, { span_events: { exclude: [{ field: 'name', matches: '^event otel/' }] } }, 'traces');
  const input = fixtureJson(file);
  const events = spanEvents(input);
  const located = events.filter((e) => e.record.name.startsWith('event otel/')).length;
  assert.ok(located > 0 && located < events.length, 'the recording has both kinds of span events');
  const out = (await h.run(fixtureBatch(file)))!.toJsonObject() as Json;
  assert.equal(records('traces', out).length, records('traces', input).length, 'no span dropped');
  const left = spanEvents(out).map((e) => e.record.name);
  assert.deepEqual(left, events.map((e) => e.record.name).filter((n) => !n.startsWith('event otel/')));
  assert.equal(h.dropped(), 0);
  assert.equal(h.telemetry.total('filter_span_events_dropped', { component: 'filter' }), located);
});

test('span_events conditions see the event attributes and the span', async () => {
  const file = 'codex/exec/01-traces.json';
  const cond = { all: [{ field: 'name', equals: 'codex.tool_result_ready' }, { attribute: 'tool_name', equals: 'exec_command' }] };
  const before = records('traces', fixtureJson(file)).filter((s) => s.record.name === 'exec_command');
  assert.ok(before.some((s) => s.record.events?.some((e: Json) => e.name === 'codex.tool_result_ready')), 'the recording has the event');
  const h = harness(filterProcessor, { spans: { include: { field: 'name', equals: 'exec_command' } }, span_events: { exclude: cond } }, 'traces');
  const out = (await h.run(fixtureBatch(file)))!.toJsonObject() as Json;
  const spans = records('traces', out);
  assert.equal(spans.length, before.length);
  assert.ok(spans.every((s) => s.record.name === 'exec_command'));
  assert.ok(spans.every((s) => (s.record.events ?? []).every((e: Json) => e.name !== 'codex.tool_result_ready')));
});

test('Codex: whole metrics dropped by name; their points are counted', async () => {
  const file = 'codex/exec/03-metrics.json';
  const re = /^codex\.(sqlite|skills)\./;
  const h = harness(filterProcessor, { metrics: { exclude: [{ field: 'name', matches: re.source }] } }, 'metrics');
  const input = fixtureJson(file);
  const out = await h.run(fixtureBatch(file));
  assertKept('metrics', input, out, (_p, m) => !re.test(m!.name));
  const gone = records('metrics', input).filter((r) => re.test(r.parent!.name)).length;
  assert.ok(gone > 0);
  assert.equal(h.dropped(), gone);
  const names = (out!.toJsonObject() as Json).resourceMetrics[0].scopeMetrics[0].metrics.map((m: Json) => m.name);
  assert.ok(names.every((n: string) => !re.test(n)));
});

test('Claude Code: data points dropped by attribute; a metric whose points all go is dropped', async () => {
  const file = 'claude-code/tool-call/02-metrics.json';
  const config = {
    data_points: {
      exclude: [
        { all: [{ field: 'name', equals: 'claude_code.token.usage' }, { attribute: 'type', in: ['cacheRead', 'cacheCreation'] }] },
        { field: 'name', equals: 'claude_code.active_time.total' },
      ],
    },
  };
  const h = harness(filterProcessor, config, 'metrics');
  const input = fixtureJson(file);
  const keep = (p: Json, m?: Json) =>
    !(m!.name === 'claude_code.token.usage' && ['cacheRead', 'cacheCreation'].includes(scalar(p, 'type') as string)) &&
    m!.name !== 'claude_code.active_time.total';
  const out = await h.run(fixtureBatch(file));
  assertKept('metrics', input, out, keep);
  const names = (out!.toJsonObject() as Json).resourceMetrics.flatMap((rm: Json) => rm.scopeMetrics.flatMap((sm: Json) => sm.metrics.map((m: Json) => m.name)));
  assert.ok(!names.includes('claude_code.active_time.total'), 'a metric with no points left is removed');
  assert.ok(names.includes('claude_code.token.usage'));
  assert.equal(h.dropped(), records('metrics', input).filter((r) => !keep(r.record, r.parent)).length);
});

test('metrics conditions see no point attributes; data_points conditions do', async () => {
  const file = 'gemini-cli/noninteractive/03-metrics.json';
  const byAttr = harness(filterProcessor, { metrics: { exclude: [{ attribute: 'model', exists: true }] } }, 'metrics');
  const same = await byAttr.run(fixtureBatch(file));
  assert.equal(byAttr.dropped(), 0, 'a metric has no attributes of its own');
  assert.ok(same);
  const points = harness(filterProcessor, { data_points: { exclude: [{ attribute: 'model', exists: true }] } }, 'metrics');
  const out = await points.run(fixtureBatch(file));
  const input = fixtureJson(file);
  assertKept('metrics', input, out, (p) => attr(p, 'model') === undefined);
  assert.ok(points.dropped() > 0);
});

test('a batch nothing is dropped from is handed on untouched, protobuf bytes and all', async () => {
  const h = harness(filterProcessor, { logs: { exclude: [{ event: 'no_such_event' }] } }, 'logs');
  const b = fixtureBatch('claude-code/protobuf/01-logs.pb');
  const bytes = b.toProto();
  const out = await h.run(b);
  assert.equal(out, b);
  assert.equal(out!.toProto(), bytes, 'the received bytes are forwarded as they are');
  assert.equal(h.dropped(), 0);
});

test('a batch that loses everything is not handed on, and every item is counted', async () => {
  const h = harness(filterProcessor, { logs: { exclude: [{ attribute: 'resource.service.name', equals: 'gemini-cli' }] } }, 'logs');
  const file = 'gemini-cli/noninteractive/02-logs.json';
  assert.equal(await h.run(fixtureBatch(file)), undefined);
  assert.equal(h.dropped(), records('logs', fixtureJson(file)).length);
  const m = harness(filterProcessor, { metrics: { include: [{ field: 'name', equals: 'nothing' }] } }, 'metrics');
  assert.equal(await m.run(fixtureBatch('claude-code/tool-call/02-metrics.json')), undefined);
  assert.equal(m.dropped(), 12);
});

test('the batch seen by another pipeline keeps what this one dropped', async () => {
  const h = harness(filterProcessor, { logs: { exclude: DELTA } }, 'logs');
  const original = fixtureBatch(CODEX_LOGS);
  const other = original.fork();
  await h.run(original.fork());
  assert.equal(firstDifference(other.toJsonObject(), fixtureJson(CODEX_LOGS)), null);
});

test('rules of another signal do nothing; filter: {} drops nothing', async () => {
  const h = harness(filterProcessor, { logs: { exclude: [{ event: 'codex.sse_event' }] } }, 'traces');
  const b = fixtureBatch('codex/exec/01-traces.json');
  assert.equal(await h.run(b), b);
  const empty = harness(filterProcessor, {}, 'logs');
  const l = fixtureBatch(CODEX_LOGS);
  assert.equal(await empty.run(l), l);
  assert.equal(empty.dropped(), 0);
});

const pipeline = (procs: string) => `
receivers: {otlp: {}}
exporters: {debug: {}}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [${procs}], exporters: [debug]}
`;

test('bad rules are reported with their YAML path', () => {
  const r = loadConfigText(
    `processors:
  filter/x:
    logs:
      exclude:
        - {attribute: event.kind, equal: response.created}
      includ: []
    spans:
      include: []
    metrics:
      exclude: not-a-condition
    datapoints: {}
${pipeline('filter/x')}`,
    {},
  );
  assert.equal(r.config, undefined);
  const errs = r.errors.join('\n');
  assert.match(errs, /processors\.filter\/x\.logs\.exclude\[0\]\.equal: unknown key "equal".*did you mean "equals"\?/);
  assert.match(errs, /processors\.filter\/x\.logs\.includ: unknown key \(known: include, exclude\)/);
  assert.match(errs, /processors\.filter\/x\.spans\.include: needs at least one condition/);
  assert.match(errs, /processors\.filter\/x\.metrics\.exclude: expected a list of conditions/);
  assert.match(errs, /processors\.filter\/x\.datapoints: unknown key/);
});

test('filter: {} is a valid config', () => {
  const r = loadConfigText(`processors:\n  filter: {}\n${pipeline('filter')}`, {});
  assert.deepEqual(r.errors, []);
});

test('every YAML example in the README loads without errors', () => {
  const blocks = yamlBlocks(readmeOf(__dirname));
  assert.ok(blocks.length >= 2);
  for (const b of blocks) {
    const r = loadExample(b);
    assert.deepEqual(r.errors, [], b);
  }
});

test('the README example does on real recordings what its comments say', async () => {
  const block = yamlBlocks(readmeOf(__dirname))[0];
  const logs = harness(filterProcessor, rawOf(block), 'logs', 'filter/agents');
  const codex = await logs.run(fixtureBatch(CODEX_LOGS));
  const left = records('logs', codex!.toJsonObject());
  assert.ok(left.every((r) => !String(scalar(r.record, 'event.kind') ?? '').endsWith('.delta')));
  assert.ok(left.every((r) => r.record.severityNumber === 9));
  const claude = await logs.run(fixtureBatch('claude-code/tool-call/01-logs.json'));
  const apiRequests = records('logs', claude!.toJsonObject()).filter((r) => eventName(r.record) === 'api_request');
  assert.deepEqual(apiRequests.map((r) => scalar(r.record, 'query_source')), ['sdk', 'sdk']);
  const gemini = harness(filterProcessor, rawOf(block), 'traces', 'filter/agents');
  const spans = await gemini.run(fixtureBatch('gemini-cli/noninteractive/01-traces.json'));
  assert.deepEqual(records('traces', spans!.toJsonObject()).map((s) => s.record.name).sort(), ['llm_call', 'llm_call', 'llm_call', 'tool_call']);
  const metrics = harness(filterProcessor, rawOf(block), 'metrics', 'filter/agents');
  const gm = await metrics.run(fixtureBatch('gemini-cli/noninteractive/03-metrics.json'));
  assert.ok(records('metrics', gm!.toJsonObject()).every((p) => p.parent!.name !== 'gemini_cli.startup.duration'));
});

/** The raw settings of the first processor in a README block. */
function rawOf(block: string): unknown {
  const doc = parseYaml(block) as { processors: Record<string, unknown> };
  return Object.values(doc.processors)[0];
}

test('a filter with no rule for its pipeline says so once at start-up, without record content', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
  const config = filterProcessor.schema.check({ spans: { exclude: [{ field: 'name', equals: 'x' }] } }, [], { issues: [] })!;
  const ctx = { id: 'filter/x', logger, telemetry: new Telemetry(), pipeline: 'logs/main' };
  filterProcessor.create(config, { ...ctx, signal: 'logs' }, { consume: async () => undefined });
  filterProcessor.create(config, { ...ctx, signal: 'traces' }, { consume: async () => undefined });
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]) as Json;
  assert.equal(entry.level, 40);
  assert.match(entry.msg, /filter\/x has no logs rules/);
  assert.equal(entry.pipeline, 'logs/main');
});
