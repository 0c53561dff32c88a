import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Long from 'long';
import { Batch } from '../../src/otlp/batch';
import type { Ctx } from '../../src/config/schema';
import type { AnyValue, KeyValue, LogRecord, LogsRequest, Span, TracesRequest } from '../../src/otlp/model';
import {
  attributeValue,
  compileCondition,
  Condition,
  conditionSchema,
  eventNameOf,
  RecordContext,
} from '../../src/conditions';
import { FIXTURES_DIR, listFixtures } from '../helpers/fixtures';

// ---------------------------------------------------------------------------------
// Helpers

function compile(value: unknown): { cond: Condition | undefined; ctx: Ctx } {
  const ctx: Ctx = { issues: [] };
  const cond = compileCondition(value, ['processors', 'filter', 'conditions'], ctx);
  return { cond, ctx };
}

/** Compiles a condition that must be valid. */
function ok(value: unknown): Condition {
  const { cond, ctx } = compile(value);
  assert.deepEqual(ctx.issues, [], `unexpected issues for ${JSON.stringify(value)}`);
  assert.ok(cond);
  return cond;
}

/** Compiles a condition that must be invalid; returns its issues as "path: message" after the base path. */
function bad(value: unknown): { path: (string | number)[]; message: string }[] {
  const { cond, ctx } = compile(value);
  assert.equal(cond, undefined, `expected ${JSON.stringify(value)} to be rejected`);
  assert.ok(ctx.issues.length > 0);
  for (const i of ctx.issues) {
    assert.deepEqual(i.path.slice(0, 3), ['processors', 'filter', 'conditions']);
    assert.equal(i.severity, 'error');
  }
  return ctx.issues.map((i) => ({ path: i.path.slice(3), message: i.message }));
}

const str = (s: string): AnyValue => ({ stringValue: s });
const int = (n: number | string | Long): AnyValue => ({ intValue: n });
const dbl = (n: number): AnyValue => ({ doubleValue: n });
const bool = (b: boolean): AnyValue => ({ boolValue: b });
const kv = (key: string, value: AnyValue | null | undefined): KeyValue => ({ key, value });

function logCtx(attributes: KeyValue[], extra: Partial<LogRecord> = {}, resourceAttrs: KeyValue[] = []): RecordContext {
  return {
    signal: 'logs',
    resource: { attributes: resourceAttrs },
    scope: { name: 'com.anthropic.claude_code.events', version: '2.1.197', attributes: [kv('team', str('core'))] },
    log: { attributes, ...extra },
  };
}

function spanOf(extra: Partial<Span> = {}): Span {
  return { name: 'tool_call', kind: 1, attributes: [], events: [], links: [], ...extra };
}

function logContexts(model: LogsRequest): RecordContext[] {
  const out: RecordContext[] = [];
  for (const rl of model.resourceLogs)
    for (const sl of rl.scopeLogs)
      for (const log of sl.logRecords) out.push({ signal: 'logs', resource: rl.resource, scope: sl.scope, log });
  return out;
}

function spanContexts(model: TracesRequest): RecordContext[] {
  const out: RecordContext[] = [];
  for (const rs of model.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const span of ss.spans) out.push({ signal: 'traces', resource: rs.resource, scope: ss.scope, span });
  return out;
}

function loadFixture(name: string) {
  const f = listFixtures().find((x) => x.name === name);
  assert.ok(f, `fixture ${name} not found in ${FIXTURES_DIR}`);
  return f.format === 'json'
    ? Batch.fromJsonObject(f.signal, JSON.parse(fs.readFileSync(f.file, 'utf8'))).read()
    : Batch.fromProto(f.signal, fs.readFileSync(f.file)).read();
}

const claudeLogs = () => logContexts(loadFixture(path.join('claude-code', 'tool-call', '01-logs.json')) as LogsRequest);
const codexLogs = () => logContexts(loadFixture(path.join('codex', 'exec', '04-logs.json')) as LogsRequest);
const nameAttr = (r: RecordContext) => attributeValue(r.log!.attributes, 'event.name');

// ---------------------------------------------------------------------------------
// Real agent payloads

test('Claude Code fixture: event: tool_decision selects exactly the tool_decision records', () => {
  const records = claudeLogs();
  assert.equal(records.length, 8);
  const expected = records.filter((r) => nameAttr(r) === 'tool_decision');
  assert.equal(expected.length, 1);
  for (const form of ['tool_decision', 'claude_code.tool_decision']) {
    const got = records.filter(ok({ event: form }));
    assert.deepEqual(got, expected, `event: ${form}`);
  }
  assert.equal(records.filter(ok({ event: 'tool_result' })).length, 1);
  assert.equal(records.filter(ok({ event: 'api_request' })).length, 3);
  // By the rule, any single prefix matches the bare name Claude Code sends; pin the agent with the resource.
  assert.deepEqual(records.filter(ok({ event: 'codex.tool_decision' })), expected);
  assert.equal(records.filter(ok([{ event: 'codex.tool_decision' }, { attribute: 'resource.service.name', equals: 'codex_exec' }])).length, 0);
  assert.equal(records.filter(ok({ event: 'codex.api_request.extra' })).length, 0);
  assert.equal(records.filter(ok({ event: 'tool' })).length, 0);
});

test("Claude Code fixture: gt works on tool_result's string-valued duration_ms", () => {
  const records = claudeLogs();
  const toolResult = records.find((r) => nameAttr(r) === 'tool_result')!;
  const raw = toolResult.log!.attributes.find((a) => a.key === 'duration_ms')!.value!;
  assert.equal(raw.stringValue, '75'); // the agent sends it as a string
  const over10 = records.filter(ok({ attribute: 'duration_ms', gt: 10 })).map(nameAttr);
  assert.deepEqual(over10, ['api_request', 'api_request', 'tool_result', 'api_request']);
  assert.deepEqual(records.filter(ok({ attribute: 'duration_ms', gt: 70 })).map(nameAttr), ['tool_result']);
  assert.deepEqual(records.filter(ok({ attribute: 'duration_ms', lte: 23 })).map(nameAttr), ['api_request', 'api_request']);
  assert.equal(records.filter(ok({ attribute: 'duration_ms', equals: 75 })).length, 1);
  assert.equal(records.filter(ok({ attribute: 'success', equals: true })).length, 1); // "true" as a string
  assert.equal(records.filter(ok([{ event: 'tool_result' }, { attribute: 'duration_ms', gte: 76 }])).length, 0);
});

test('Claude Code fixture: resource, scope, body, all/any/not, matches', () => {
  const records = claudeLogs();
  assert.equal(records.filter(ok({ attribute: 'resource.service.name', equals: 'claude-code' })).length, 8);
  assert.equal(records.filter(ok({ attribute: 'resource.service.name', equals: 'codex_exec' })).length, 0);
  assert.equal(records.filter(ok({ attribute: 'service.name', exists: true })).length, 0); // not a record attribute
  assert.equal(records.filter(ok({ attribute: 'scope.name', matches: '^com\\.anthropic\\.' })).length, 8);
  assert.equal(records.filter(ok({ attribute: 'scope.version', equals: '2.1.197' })).length, 8);
  assert.equal(records.filter(ok({ field: 'body', equals: 'claude_code.user_prompt' })).length, 1);
  assert.equal(records.filter(ok({ field: 'name', equals: 'user_prompt' })).length, 1);
  assert.deepEqual(
    records.filter(ok({ any: [{ event: 'tool_decision' }, { event: 'tool_result' }] })).map(nameAttr),
    ['tool_decision', 'tool_result'],
  );
  assert.equal(records.filter(ok({ not: { event: 'api_request' } })).length, 5);
  assert.equal(
    records.filter(ok({ all: [{ attribute: 'resource.service.name', equals: 'claude-code' }, { not: { attribute: 'duration_ms', exists: true } }] })).length,
    4,
  );
  assert.deepEqual(
    records.filter(ok({ attribute: 'event.name', matches: 'tool_(decision|result)$' })).map(nameAttr),
    ['tool_decision', 'tool_result'],
  );
  assert.equal(records.filter(ok({ attribute: 'event.name', in: ['user_prompt', 'assistant_response'] })).length, 3);
});

test('Codex fixture: the event name comes from event.name, not the callsite in LogRecord.eventName', () => {
  const records = codexLogs();
  assert.equal(records.length, 30);
  const decision = records.filter(ok({ event: 'codex.tool_decision' }));
  assert.equal(decision.length, 1);
  assert.match(decision[0].log!.eventName!, /^event otel\//);
  assert.equal(eventNameOf(decision[0].log!), 'codex.tool_decision');
  assert.deepEqual(records.filter(ok({ event: 'tool_decision' })), decision);
  assert.equal(records.filter(ok({ event: 'claude_code.tool_decision' })).length, 0);
  assert.equal(records.filter(ok({ event: 'codex.sse_event' })).length, 20);
});

test('Codex fixture: severity_at_least', () => {
  const records = codexLogs();
  assert.equal(records.filter(ok({ severity_at_least: 'DEBUG' })).length, 30);
  assert.equal(records.filter(ok({ severity_at_least: 'info' })).length, 29);
  assert.equal(records.filter(ok({ severity_at_least: 9 })).length, 29);
  assert.equal(records.filter(ok({ severity_at_least: 'Info2' })).length, 0);
  assert.equal(records.filter(ok({ severity_at_least: 'WARN' })).length, 0);
  // Claude Code sends no severity: never matches.
  assert.equal(claudeLogs().filter(ok({ severity_at_least: 'TRACE' })).length, 0);
});

test('protobuf-decoded records: oneof defaults on the prototype are not mistaken for values', () => {
  const records = logContexts(loadFixture(path.join('claude-code', 'protobuf', '01-logs.pb')) as LogsRequest);
  assert.ok(records.length > 0);
  const first = records[0].log!;
  // A decoded string AnyValue also answers intValue (a Long 0) and boolValue (false) from its prototype.
  const model = first.attributes.find((a) => a.key === 'model')!.value!;
  assert.ok(model.intValue !== undefined && model.boolValue === false);
  assert.equal(records.filter(ok({ attribute: 'model', equals: 0 })).length, 0);
  assert.equal(records.filter(ok({ attribute: 'model', equals: false })).length, 0);
  assert.equal(records.filter(ok({ attribute: 'event.sequence', equals: 0 })).length, 1);
  assert.equal(records.filter(ok({ attribute: 'input_tokens', gt: 1000 })).length > 0, true);
  assert.equal(records.filter(ok({ attribute: 'input_tokens', gt: 1000 })).every((r) => eventNameOf(r.log!) === 'api_request'), true);
  // LogRecord.eventName is '' from the prototype: no event name from it.
  assert.equal(first.eventName, '');
  assert.equal(records.filter(ok({ field: 'severity_text', exists: true })).length, 0);
});

test('Gemini CLI traces fixture: field name, kind and status', () => {
  const spans = spanContexts(loadFixture(path.join('gemini-cli', 'noninteractive', '01-traces.json')) as TracesRequest);
  assert.equal(spans.length, 5);
  assert.equal(spans.filter(ok({ field: 'name', equals: 'llm_call' })).length, 3);
  assert.equal(spans.filter(ok({ field: 'status', equals: 'ok' })).length, 5);
  assert.equal(spans.filter(ok({ field: 'status', equals: 'error' })).length, 0);
  assert.equal(spans.filter(ok({ field: 'kind', in: ['internal', 'SPAN_KIND_SERVER'] })).length, 5);
  assert.equal(spans.filter(ok({ field: 'kind', equals: 2 })).length, 0);
  assert.equal(spans.filter(ok({ attribute: 'resource.service.name', equals: 'gemini-cli' })).length, 5);
  // event and severity never match spans.
  assert.equal(spans.filter(ok({ event: 'llm_call' })).length, 0);
  assert.equal(spans.filter(ok({ severity_at_least: 1 })).length, 0);
});

// ---------------------------------------------------------------------------------
// Values and operators

test('equals: numbers, numeric strings, booleans, "true"/"false", Long and big int64', () => {
  const r = logCtx([
    kv('s21', str('21')),
    kv('i21', int(21)),
    kv('l21', int(Long.fromNumber(21))),
    kv('istr', int('21')),
    kv('d', dbl(21.5)),
    kv('b', bool(true)),
    kv('strue', str('true')),
    kv('big', int(Long.fromString('9223372036854775807'))),
    kv('name', str('Bash')),
  ]);
  const yes = (c: unknown) => assert.equal(ok(c)(r), true, JSON.stringify(c));
  const no = (c: unknown) => assert.equal(ok(c)(r), false, JSON.stringify(c));
  for (const k of ['s21', 'i21', 'l21', 'istr']) {
    yes({ attribute: k, equals: 21 });
    yes({ attribute: k, equals: '21' });
    no({ attribute: k, equals: 22 });
  }
  no({ attribute: 's21', equals: '21.0' }); // a string operand compares strings with strings
  yes({ attribute: 'i21', equals: '21.0' }); // but numbers numerically
  yes({ attribute: 'd', equals: 21.5 });
  no({ attribute: 'd', equals: 21 });
  yes({ attribute: 'b', equals: true });
  yes({ attribute: 'b', equals: 'true' });
  no({ attribute: 'b', equals: false });
  yes({ attribute: 'strue', equals: true });
  no({ attribute: 'strue', equals: false });
  no({ attribute: 'strue', equals: 1 });
  yes({ attribute: 'big', equals: '9223372036854775807' });
  no({ attribute: 'big', equals: '9223372036854775806' });
  yes({ attribute: 'name', equals: 'Bash' });
  no({ attribute: 'name', equals: 'bash' });
  no({ attribute: 'missing', equals: 'Bash' });
  yes({ attribute: 'name', in: ['Read', 'Bash'] });
  no({ attribute: 'name', in: ['Read', 'Edit'] });
  yes({ attribute: 's21', in: [1, 21] });
  yes({ attribute: 'i21', in: ['x', '21'] });
  yes({ attribute: 'strue', in: [false, true] });
  yes({ attribute: 'b', in: ['nope', 'true'] });
  no({ attribute: 'b', in: ['nope', false] });
});

test('exists: a key with an empty AnyValue or a null value is present', () => {
  const r = logCtx([kv('empty', {}), kv('nullv', null), kv('s', str(''))]);
  for (const k of ['empty', 'nullv', 's']) {
    assert.equal(ok({ attribute: k, exists: true })(r), true, k);
    assert.equal(ok({ attribute: k, exists: false })(r), false, k);
  }
  assert.equal(ok({ attribute: 'missing', exists: true })(r), false);
  assert.equal(ok({ attribute: 'missing', exists: false })(r), true);
  assert.equal(ok({ attribute: 'empty', equals: '' })(r), false);
  assert.equal(ok({ attribute: 's', equals: '' })(r), true);
});

test('gt, lt, gte, lte: ints, doubles, Long, numeric strings; non-numeric never matches', () => {
  const r = logCtx([
    kv('n', int(10)),
    kv('l', int(Long.fromNumber(-5))),
    kv('u', int(Long.fromString('18446744073709551615', true))),
    kv('d', dbl(0.5)),
    kv('s', str('1e3')),
    kv('word', str('ten')),
    kv('hex', str('0x10')),
    kv('b', bool(true)),
    kv('arr', { arrayValue: { values: [int(100)] } }),
  ]);
  const t = (c: unknown) => ok(c)(r);
  assert.equal(t({ attribute: 'n', gt: 9 }), true);
  assert.equal(t({ attribute: 'n', gt: 10 }), false);
  assert.equal(t({ attribute: 'n', gte: 10 }), true);
  assert.equal(t({ attribute: 'n', lt: 10 }), false);
  assert.equal(t({ attribute: 'n', lte: 10 }), true);
  assert.equal(t({ attribute: 'l', lt: 0 }), true);
  assert.equal(t({ attribute: 'u', gt: 1e19 }), true);
  assert.equal(t({ attribute: 'd', gt: 0.25 }), true);
  assert.equal(t({ attribute: 's', gt: 999 }), true);
  for (const k of ['word', 'hex', 'b', 'arr', 'missing']) {
    assert.equal(t({ attribute: k, gt: -1e9 }), false, k);
    assert.equal(t({ attribute: k, lt: 1e9 }), false, k);
  }
});

test('matches: an RE2 search on strings and on the string form of numbers', () => {
  const r = logCtx([kv('cmd', str('rm -rf /tmp/x')), kv('code', int(404)), kv('obj', { kvlistValue: { values: [kv('a', str('rm'))] } })]);
  assert.equal(ok({ attribute: 'cmd', matches: 'rm\\s+-rf' })(r), true);
  assert.equal(ok({ attribute: 'cmd', matches: '^rm' })(r), true);
  assert.equal(ok({ attribute: 'cmd', matches: '^-rf' })(r), false);
  assert.equal(ok({ attribute: 'cmd', matches: '/tmp' })(r), true); // literal fast path
  assert.equal(ok({ attribute: 'cmd', matches: '/var' })(r), false);
  assert.equal(ok({ attribute: 'code', matches: '^4\\d\\d$' })(r), true);
  assert.equal(ok({ attribute: 'obj', matches: 'rm' })(r), false);
  assert.equal(ok({ attribute: 'missing', matches: '.*' })(r), false);
});

test('fields: name, body, severity_text for logs; name for span events, data points and metrics', () => {
  const log = logCtx([kv('event.name', str('api_request'))], { body: str('API request to model.'), severityText: 'Info' });
  assert.equal(ok({ field: 'name', equals: 'api_request' })(log), true);
  assert.equal(ok({ field: 'body', matches: '^API request' })(log), true);
  assert.equal(ok({ field: 'severity_text', equals: 'Info' })(log), true);
  assert.equal(ok({ field: 'kind', exists: true })(log), false);
  const kvBody = logCtx([], { body: { kvlistValue: { values: [kv('a', int(1))] } } });
  assert.equal(ok({ field: 'body', equals: '{"a":1}' })(kvBody), true);
  assert.equal(ok({ field: 'body', exists: true })(logCtx([])), false);

  const span = spanOf({ name: 'exec_command', kind: 3, status: { code: 2 }, attributes: [kv('tool', str('shell'))] });
  const spanEvent = { name: 'codex.tool_result_ready', attributes: [kv('ok', bool(false))] };
  const ev: RecordContext = { signal: 'traces', span, spanEvent };
  assert.equal(ok({ field: 'name', equals: 'codex.tool_result_ready' })(ev), true);
  assert.equal(ok({ attribute: 'ok', equals: false })(ev), true);
  assert.equal(ok({ attribute: 'tool', exists: true })(ev), false); // the event's attributes, not the span's
  assert.equal(ok({ field: 'status', equals: 'STATUS_CODE_ERROR' })(ev), true);
  assert.equal(ok({ field: 'kind', equals: 'client' })(ev), true);
  const sp: RecordContext = { signal: 'traces', span };
  assert.equal(ok({ field: 'name', equals: 'exec_command' })(sp), true);
  assert.equal(ok({ attribute: 'tool', equals: 'shell' })(sp), true);
  assert.equal(ok({ field: 'status', gte: 2 })(sp), true);
  assert.equal(ok({ field: 'status', equals: 'unset' })({ signal: 'traces', span: spanOf() }), true); // no status = unset

  const metric = { name: 'claude_code.token.usage', sum: { dataPoints: [] } };
  const dataPoint = { attributes: [kv('type', str('input'))], asDouble: 5 };
  const dp: RecordContext = { signal: 'metrics', metric, dataPoint };
  assert.equal(ok({ field: 'name', matches: '^claude_code\\.token' })(dp), true);
  assert.equal(ok({ attribute: 'type', equals: 'input' })(dp), true);
  const m: RecordContext = { signal: 'metrics', metric };
  assert.equal(ok({ field: 'name', equals: 'claude_code.token.usage' })(m), true);
  assert.equal(ok({ attribute: 'type', exists: true })(m), false); // a metric has no attributes of its own
  assert.equal(ok({ event: 'token.usage' })(dp), false);
});

test('resource and scope subjects', () => {
  const r = logCtx([], {}, [kv('service.name', str('codex_exec')), kv('env', str('prod'))]);
  assert.equal(ok({ attribute: 'resource.service.name', equals: 'codex_exec' })(r), true);
  assert.equal(ok({ attribute: 'resource.env', in: ['dev', 'prod'] })(r), true);
  assert.equal(ok({ attribute: 'resource.missing', exists: false })(r), true);
  assert.equal(ok({ attribute: 'scope.team', equals: 'core' })(r), true);
  assert.equal(ok({ attribute: 'scope.name', equals: 'com.anthropic.claude_code.events' })(r), true);
  assert.equal(ok({ attribute: 'resource.service.name', exists: true })({ signal: 'logs', log: { attributes: [] } }), false);
});

test('severity_at_least: names, numbers, text fallback when severityNumber is 0', () => {
  const warn = logCtx([], { severityNumber: 13 });
  const err = logCtx([], { severityNumber: 17, severityText: 'ERROR' });
  const textOnly = logCtx([], { severityNumber: 0, severityText: 'warning' });
  const none = logCtx([], { severityNumber: 0 });
  const weird = logCtx([], { severityText: 'loud' });
  const c = ok({ severity_at_least: 'WARN' });
  assert.deepEqual([warn, err, textOnly, none, weird].map(c), [true, true, true, false, false]);
  const e = ok({ severity_at_least: 'error' });
  assert.deepEqual([warn, err, textOnly, none].map(e), [false, true, false, false]);
  assert.equal(ok({ severity_at_least: 14 })(warn), false);
  assert.equal(ok({ severity_at_least: 'WARN2' })(warn), false);
  assert.equal(ok({ severity_at_least: '13' })(warn), true);
});

test('event name matching rule', () => {
  const rec = (name: string) => logCtx([kv('event.name', str(name))]);
  const cases: [string, string, boolean][] = [
    ['tool_decision', 'tool_decision', true],
    ['tool_decision', 'claude_code.tool_decision', true],
    ['claude_code.tool_decision', 'tool_decision', true],
    ['claude_code.tool_decision', 'claude_code.tool_decision', true],
    ['codex.tool_decision', 'codex.tool_decision', true],
    ['codex.tool_decision', 'claude_code.tool_decision', false],
    ['tool_decision', 'a.b.tool_decision', false],
    ['tool_decision', '.tool_decision', false],
    ['decision', 'tool_decision', false],
    ['gen_ai.client.inference.operation.details', 'gen_ai.client.inference.operation.details', true],
    ['inference.operation.details', 'gen_ai.client.inference.operation.details', false],
  ];
  for (const [cond, actual, want] of cases) assert.equal(ok({ event: cond })(rec(actual)), want, `${cond} vs ${actual}`);
  // LogRecord.eventName is the fallback when there is no event.name attribute.
  assert.equal(ok({ event: 'tool_decision' })(logCtx([], { eventName: 'claude_code.tool_decision' })), true);
  assert.equal(eventNameOf({ attributes: [kv('event.name', str('a'))], eventName: 'b' }), 'a');
  assert.equal(eventNameOf({ attributes: [], eventName: 'b' }), 'b');
  assert.equal(eventNameOf({ attributes: [], eventName: '' }), undefined);
});

test('combinators: all, any, not, a top-level list, nesting', () => {
  const r = logCtx([kv('a', str('1')), kv('b', str('2'))]);
  const A = { attribute: 'a', equals: 1 };
  const B = { attribute: 'b', equals: 2 };
  const X = { attribute: 'x', exists: true };
  assert.equal(ok([A, B])(r), true);
  assert.equal(ok([A, B, X])(r), false);
  assert.equal(ok({ all: [A, B] })(r), true);
  assert.equal(ok({ all: [A, X] })(r), false);
  assert.equal(ok({ any: [X, X, B] })(r), true);
  assert.equal(ok({ any: [X, { not: A }] })(r), false);
  assert.equal(ok({ not: [A, X] })(r), true);
  assert.equal(ok({ all: [{ any: [X, A] }, { not: { not: B } }] })(r), true);
});

// ---------------------------------------------------------------------------------
// Mistakes

test('unknown key: issue at the key, naming what was expected', () => {
  const issues = bad({ attribute: 'tool_name', equal: 'Bash' });
  // Reported twice: the unknown key, and the subject left without an operator.
  assert.deepEqual(issues.map((i) => i.path), [['equal'], []]);
  assert.match(issues[0].message, /^unknown key "equal" \(expected one of attribute, field, equals, matches, in, exists, gt, lt, gte, lte, /);
  assert.match(issues[0].message, /did you mean "equals"\?/);
  assert.match(issues[1].message, /needs an operator/);
});

test('two subjects, two operators, operator without subject', () => {
  let issues = bad({ attribute: 'a', field: 'name', equals: 'x' });
  assert.deepEqual(issues.map((i) => i.path), [['field']]);
  assert.match(issues[0].message, /one subject/);

  issues = bad({ attribute: 'a', equals: 'x', gt: 3 });
  assert.deepEqual(issues.map((i) => i.path), [['gt']]);
  assert.match(issues[0].message, /one operator per condition, got "equals" and "gt"/);

  issues = bad({ equals: 'x' });
  assert.deepEqual(issues.map((i) => i.path), [[]]);
  assert.match(issues[0].message, /"equals" needs a subject: add attribute: KEY or field:/);

  issues = bad({ attribute: 'a' });
  assert.deepEqual(issues.map((i) => i.path), [[]]);
  assert.match(issues[0].message, /attribute: a needs an operator: one of equals, matches/);
});

test('wrong value types: each issue at its exact path', () => {
  const cases: [unknown, (string | number)[], RegExp][] = [
    [{ attribute: 'a', gt: 'ten' }, ['gt'], /expected a number, got string "ten"/],
    [{ attribute: 'a', equals: ['x', 'y'] }, ['equals'], /for several values use in/],
    [{ attribute: 'a', equals: null }, ['equals'], /expected a string, number or boolean/],
    [{ attribute: 'a', in: 'x' }, ['in'], /expected a list of values/],
    [{ attribute: 'a', in: [] }, ['in'], /at least one value/],
    [{ attribute: 'a', in: ['x', { y: 1 }] }, ['in', 1], /got a map/],
    [{ attribute: 'a', exists: 'yes' }, ['exists'], /expected true or false/],
    [{ attribute: 'a', matches: 5 }, ['matches'], /regular expression/],
    [{ attribute: 'a', matches: '(unclosed' }, ['matches'], /invalid regular expression "\(unclosed": missing closing \)/],
    [{ attribute: 'a', matches: '(?=lookahead)' }, ['matches'], /invalid regular expression/],
    [{ attribute: '', equals: 'x' }, ['attribute'], /attribute key/],
    [{ attribute: 'resource.', equals: 'x' }, ['attribute'], /resource\.KEY/],
    [{ attribute: 7, equals: 'x' }, ['attribute'], /attribute key/],
    [{ field: 'title', equals: 'x' }, ['field'], /expected a field: one of name, body, severity_text, kind, status/],
    [{ field: 'kind', equals: 'sideways' }, ['equals'], /expected one of unspecified, internal, server/],
    [{ field: 'status', matches: 'err' }, ['matches'], /does not apply to field status/],
    [{ severity_at_least: 'LOUD' }, ['severity_at_least'], /TRACE, DEBUG, INFO, WARN, ERROR, FATAL/],
    [{ severity_at_least: 25 }, ['severity_at_least'], /1\.\.24/],
    [{ event: '' }, ['event'], /event name/],
    [{ event: ['a'] }, ['event'], /event name/],
    [{ all: [] }, ['all'], /at least one condition/],
    [{ any: [] }, ['any'], /at least one condition/],
    [{ all: { event: 'x' } }, ['all'], /expected a list of conditions, got a map/],
    [{ not: null }, ['not'], /expected a condition/],
    [[], [], /at least one condition/],
    [{}, [], /empty condition/],
    ['tool_decision', [], /expected a condition/],
    [{ event: 'x', attribute: 'a' }, ['attribute'], /cannot share a map with "event"/],
    [{ all: [{ event: 'x' }], any: [{ event: 'y' }] }, ['any'], /cannot share a map with "all"/],
  ];
  for (const [value, p, re] of cases) {
    const issues = bad(value);
    assert.deepEqual(issues.map((i) => i.path), [p], JSON.stringify(value));
    assert.match(issues[0].message, re, JSON.stringify(value));
  }
});

test('a mistake deep in a tree is reported with its full path', () => {
  const issues = bad({ all: [{ event: 'api_request' }, { any: [{ event: 'a' }, { event: 'b' }, { attribute: 'cost', gt: 'much' }] }] });
  assert.deepEqual(issues.map((i) => i.path), [['all', 1, 'any', 2, 'gt']]);
  const base = compile({ any: [{ event: 'a' }, { event: 'b' }, { attribute: 'x', gt: '' }] });
  assert.deepEqual(base.ctx.issues[0].path, ['processors', 'filter', 'conditions', 'any', 2, 'gt']);
});

test('every problem is reported, not just the first', () => {
  const issues = bad([
    { attribute: 'a', equal: 1 },
    { any: [{ event: 5 }, { field: 'nope', exists: true }] },
    { not: { attribute: 'b', matches: '[' } },
    { severity_at_least: 'loud', event: 'x' },
    { gt: 'x' },
  ]);
  assert.deepEqual(
    issues.map((i) => i.path),
    [
      [0, 'equal'],
      [0],
      [1, 'any', 0, 'event'],
      [1, 'any', 1, 'field'],
      [2, 'not', 'matches'],
      [3, 'event'],
      [3, 'severity_at_least'],
      [4],
      [4, 'gt'],
    ],
  );
});

test('conditionSchema compiles through the schema language and reports issues', () => {
  const ctx: Ctx = { issues: [] };
  const c = conditionSchema.check({ event: 'tool_result' }, ['x'], ctx);
  assert.deepEqual(ctx.issues, []);
  assert.equal(c!(logCtx([kv('event.name', str('tool_result'))])), true);
  assert.equal(c!(logCtx([kv('event.name', str('tool_decision'))])), false);
  const ctx2: Ctx = { issues: [] };
  assert.equal(conditionSchema.check({ attribute: 'a', gt: 'x' }, ['x', 'when'], ctx2), undefined);
  assert.deepEqual(ctx2.issues.map((i) => i.path), [['x', 'when', 'gt']]);
});

test('attributeValue reads plain JS values', () => {
  const attrs = [
    kv('s', str('x')),
    kv('i', int(Long.fromNumber(42))),
    kv('big', int(Long.fromString('-9223372036854775808'))),
    kv('jsonbig', int('12345678901234567890')),
    kv('d', dbl(1.5)),
    kv('b', bool(false)),
    kv('arr', { arrayValue: { values: [str('a'), int(1)] } }),
    kv('kv', { kvlistValue: { values: [kv('k', bool(true)), kv('n', {})] } }),
    kv('empty', {}),
  ];
  assert.equal(attributeValue(attrs, 's'), 'x');
  assert.equal(attributeValue(attrs, 'i'), 42);
  assert.equal(attributeValue(attrs, 'big'), '-9223372036854775808');
  assert.equal(attributeValue(attrs, 'jsonbig'), '12345678901234567890');
  assert.equal(attributeValue(attrs, 'd'), 1.5);
  assert.equal(attributeValue(attrs, 'b'), false);
  assert.deepEqual(attributeValue(attrs, 'arr'), ['a', 1]);
  assert.deepEqual(attributeValue(attrs, 'kv'), { k: true, n: null });
  assert.equal(attributeValue(attrs, 'empty'), null);
  assert.equal(attributeValue(attrs, 'missing'), undefined);
  assert.equal(attributeValue(undefined, 's'), undefined);
});
