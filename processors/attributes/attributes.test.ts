import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { attributesProcessor } from './index';
import { convertValue, truncateString, UNCHANGED } from './values';
import { Batch } from '../../src/otlp/batch';
import { decodeKeepingBytes, receivedBytes } from '../../src/otlp/record-bytes';
import { countUnknownFields, withUnknownFieldInRecords } from '../../test/helpers/unknown-fields';
import type { LogsRequest } from '../../src/otlp/model';
import { loadConfigText } from '../../src/config/load';
import { firstDifference } from '../../test/helpers/otlp-compare';
import {
  attr, eventName, fixtureBatch, fixtureJson, harness, keys, loadExample, readmeOf, records, scalar, spanEvents, yamlBlocks, type Json,
} from './testing';

const CLAUDE_LOGS = 'claude-code/tool-call/01-logs.json';
const CODEX_LOGS = 'codex/exec/04-logs.json';
const GEMINI_LOGS = 'gemini-cli/noninteractive/02-logs.json';
const KEY = 'k'.repeat(16) + 'secret-for-tests';

const logsOut = async (config: unknown, file: string) => {
  const h = harness(attributesProcessor, config, 'logs');
  const out = await h.run(fixtureBatch(file));
  return { h, out: out!, recs: records('logs', out!.toJsonObject()), inRecs: records('logs', fixtureJson(file)) };
};

/** Every record equals its input except for the listed keys. */
function sameExcept(got: Json, want: Json, changed: string[]) {
  const strip = (r: Json) => ({ ...r, attributes: (r.attributes ?? []).filter((a: Json) => !changed.includes(a.key)) });
  const d = firstDifference(strip(got), strip(want));
  assert.equal(d, null, d ?? '');
}

test("Claude Code: tool_result's duration_ms string becomes an int; api_request's int is left alone", async () => {
  const { out, recs, inRecs } = await logsOut(
    { actions: [{ action: 'convert', key: 'duration_ms', converted_type: 'int', where: { event: 'tool_result' } }] },
    CLAUDE_LOGS,
  );
  assert.equal(recs.length, inRecs.length);
  let converted = 0;
  for (let i = 0; i < recs.length; i++) {
    const before = attr(inRecs[i].record, 'duration_ms');
    const after = attr(recs[i].record, 'duration_ms');
    if (eventName(inRecs[i].record) === 'tool_result') {
      assert.equal(typeof before!.stringValue, 'string');
      assert.deepEqual(after, { intValue: String(Number(before!.stringValue)) }, 'only intValue is set');
      converted++;
    } else {
      assert.equal(firstDifference(after, before), null);
    }
    sameExcept(recs[i].record, inRecs[i].record, ['duration_ms']);
  }
  assert.equal(converted, 1);
  // The re-encoded protobuf carries the int too.
  const again = Batch.fromProto('logs', out.toProto()).toJsonObject();
  const tr = records('logs', again).find((r) => eventName(r.record) === 'tool_result')!;
  assert.deepEqual(attr(tr.record, 'duration_ms'), { intValue: '75' });
});

test('protobuf-decoded values are replaced whole: no stale member survives the re-encoding', async () => {
  const h = harness(
    attributesProcessor,
    {
      actions: [
        { action: 'convert', key: 'duration_ms', converted_type: 'int', where: { event: 'tool_result' } },
        { action: 'convert', key: 'success', converted_type: 'bool' },
        { action: 'convert', key: 'event.sequence', converted_type: 'string' },
      ],
    },
    'logs',
  );
  const input = fixtureBatch('claude-code/protobuf/01-logs.pb');
  const inRecs = records('logs', input.toJsonObject());
  const out = await h.run(fixtureBatch('claude-code/protobuf/01-logs.pb'));
  for (const json of [out!.toJsonObject(), Batch.fromProto('logs', out!.toProto()).toJsonObject()]) {
    const recs = records('logs', json);
    assert.equal(recs.length, inRecs.length);
    for (let i = 0; i < recs.length; i++) {
      const seq = attr(inRecs[i].record, 'event.sequence')!;
      assert.deepEqual(attr(recs[i].record, 'event.sequence'), { stringValue: String(seq.intValue) });
      if (eventName(recs[i].record) === 'tool_result') {
        assert.deepEqual(Object.keys(attr(recs[i].record, 'duration_ms')!), ['intValue']);
        assert.deepEqual(attr(recs[i].record, 'success'), { boolValue: true });
      }
    }
  }
});

test('Codex: token counts sent as strings become ints by pattern; ints stay; failures are counted, not changed', async () => {
  const { h, recs, inRecs } = await logsOut(
    {
      actions: [
        { action: 'convert', pattern: '_token_count$', converted_type: 'int' },
        { action: 'convert', key: 'event.kind', converted_type: 'int' },
      ],
    },
    CODEX_LOGS,
  );
  let strings = 0;
  for (let i = 0; i < recs.length; i++) {
    for (const a of inRecs[i].record.attributes ?? []) {
      const after = attr(recs[i].record, a.key);
      if (a.key.endsWith('_token_count')) {
        if (a.value.stringValue !== undefined) strings++;
        assert.deepEqual(after, { intValue: String(a.value.stringValue ?? a.value.intValue) }, a.key);
      } else {
        assert.deepEqual(after, a.value, `${a.key} untouched`);
      }
    }
  }
  assert.ok(strings >= 6, `string token counts converted (${strings})`);
  const kinds = inRecs.filter((r) => attr(r.record, 'event.kind') !== undefined).length;
  assert.equal(h.telemetry.total('attribute_values_not_converted', { component: 'attributes' }), kinds);
});

test('a value that cannot convert leaves the batch untouched, and is still counted', async () => {
  const h = harness(attributesProcessor, { actions: [{ action: 'convert', key: 'model', converted_type: 'double' }] }, 'logs');
  const b = fixtureBatch('codex/exec-protobuf/04-logs.pb');
  const bytes = b.toProto();
  const out = await h.run(b);
  assert.equal(out, b);
  assert.equal(out!.toProto(), bytes);
  const withModel = records('logs', b.toJsonObject()).filter((r) => attr(r.record, 'model')).length;
  assert.ok(withModel > 0);
  assert.equal(h.telemetry.total('attribute_values_not_converted', { component: 'attributes' }), withModel);
});

test('insert only when absent, update only when present, upsert always; from_attribute copies', async () => {
  const { recs, inRecs } = await logsOut(
    {
      actions: [
        { action: 'insert', key: 'model', value: 'none' },
        { action: 'update', key: 'speed', value: 'fast' },
        { action: 'upsert', key: 'team', value: 'platform' },
        { action: 'upsert', key: 'cost.ok', value: true },
        { action: 'insert', key: 'conversation', from_attribute: 'session.id' },
        { action: 'update', key: 'request_id', from_attribute: 'no_such_attribute' },
      ],
    },
    CLAUDE_LOGS,
  );
  for (let i = 0; i < recs.length; i++) {
    const before = inRecs[i].record;
    const after = recs[i].record;
    assert.deepEqual(attr(after, 'model'), attr(before, 'model') ?? { stringValue: 'none' });
    assert.deepEqual(attr(after, 'speed'), attr(before, 'speed') ? { stringValue: 'fast' } : undefined);
    assert.deepEqual(attr(after, 'team'), { stringValue: 'platform' });
    assert.deepEqual(attr(after, 'cost.ok'), { boolValue: true });
    assert.deepEqual(attr(after, 'conversation'), attr(before, 'session.id'));
    assert.deepEqual(attr(after, 'request_id'), attr(before, 'request_id'));
    // New keys go at the end; existing keys keep their place.
    const added = ['model', 'team', 'cost.ok', 'conversation'].filter((k) => attr(before, k) === undefined);
    assert.deepEqual(keys(after), [...keys(before), ...added]);
  }
});

test('numbers from the config: whole numbers become ints, others doubles', async () => {
  const { recs } = await logsOut(
    { actions: [{ action: 'upsert', key: 'weight', value: 3 }, { action: 'upsert', key: 'ratio', value: 0.25 }] },
    CLAUDE_LOGS,
  );
  assert.deepEqual(attr(recs[0].record, 'weight'), { intValue: '3' });
  assert.deepEqual(attr(recs[0].record, 'ratio'), { doubleValue: 0.25 });
});

test('delete by key and by pattern removes the attributes and keeps the rest in order (Gemini CLI)', async () => {
  const { recs, inRecs } = await logsOut(
    { actions: [{ action: 'delete', key: 'prompt' }, { action: 'delete', pattern: '^gen_ai\\.(input|output)\\.messages$|_text$' }] },
    GEMINI_LOGS,
  );
  const gone = (k: string) => k === 'prompt' || /^gen_ai\.(input|output)\.messages$|_text$/.test(k);
  let removed = 0;
  for (let i = 0; i < recs.length; i++) {
    assert.deepEqual(keys(recs[i].record), keys(inRecs[i].record).filter((k) => !gone(k)));
    removed += keys(inRecs[i].record).filter(gone).length;
  }
  assert.ok(removed >= 10, `removed ${removed}`);
});

test('rename keeps value and place, and replaces an attribute already named like the target', async () => {
  const { recs, inRecs } = await logsOut(
    {
      actions: [
        { action: 'rename', key: 'prompt_id', to: 'prompt.id' },
        { action: 'rename', key: 'model', to: 'session.id', where: { event: 'gemini_cli.api_response' } },
      ],
    },
    GEMINI_LOGS,
  );
  let renamed = 0;
  for (let i = 0; i < recs.length; i++) {
    const before = inRecs[i].record;
    const after = recs[i].record;
    if (attr(before, 'prompt_id')) {
      renamed++;
      assert.equal(attr(after, 'prompt_id'), undefined);
      assert.deepEqual(attr(after, 'prompt.id'), attr(before, 'prompt_id'));
      assert.equal(keys(after).indexOf('prompt.id'), keys(before).indexOf('prompt_id') - (eventName(before) === 'gemini_cli.api_response' ? 1 : 0));
    }
    if (eventName(before) === 'gemini_cli.api_response') {
      assert.deepEqual(attr(after, 'session.id'), attr(before, 'model'));
      assert.equal(keys(after).filter((k) => k === 'session.id').length, 1);
      assert.equal(attr(after, 'model'), undefined);
    }
  }
  assert.ok(renamed >= 5);
});

test('copy sets key from another attribute, replacing what was there; the copy is independent', async () => {
  const file = 'gemini-cli/noninteractive/02-logs.json';
  const { recs, inRecs } = await logsOut(
    {
      actions: [
        { action: 'copy', from_attribute: 'finish_reasons', key: 'reasons' },
        { action: 'copy', from_attribute: 'session.id', key: 'auth_type' },
        { action: 'truncate', key: 'session.id', length: 8 },
      ],
    },
    file,
  );
  for (let i = 0; i < recs.length; i++) {
    const before = inRecs[i].record;
    const after = recs[i].record;
    assert.deepEqual(attr(after, 'reasons'), attr(before, 'finish_reasons'));
    if (attr(before, 'session.id')) {
      assert.deepEqual(attr(after, 'auth_type'), attr(before, 'session.id'), 'the copy keeps the full value');
      assert.equal(attr(after, 'session.id')!.stringValue, (attr(before, 'session.id')!.stringValue as string).slice(0, 8));
    }
  }
  assert.ok(recs.some((r) => attr(r.record, 'reasons')?.arrayValue), 'an array value was copied');
});

test('hash: HMAC-SHA256 hex of the value with the configured key; the secret in Codex tool arguments is gone', async () => {
  const { recs, inRecs } = await logsOut(
    { actions: [{ action: 'hash', key: 'arguments', hmac_key: KEY }, { action: 'hash', pattern: '^conversation\\.id$', hmac_key: KEY }] },
    CODEX_LOGS,
  );
  let hashed = 0;
  for (let i = 0; i < recs.length; i++) {
    for (const k of ['arguments', 'conversation.id']) {
      const before = attr(inRecs[i].record, k);
      if (!before) continue;
      hashed++;
      const want = createHmac('sha256', Buffer.from(KEY)).update(before.stringValue as string, 'utf8').digest('hex');
      assert.deepEqual(attr(recs[i].record, k), { stringValue: want });
    }
  }
  assert.ok(hashed > 10);
  assert.ok(!JSON.stringify(recs).includes('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'));
  // Equal ids hash equally, so they still join.
  const ids = new Set(recs.map((r) => scalar(r.record, 'conversation.id')).filter(Boolean));
  assert.equal(ids.size, new Set(inRecs.map((r) => scalar(r.record, 'conversation.id')).filter(Boolean)).size);
});

test('truncate cuts long strings to length characters and counts them (Gemini CLI spans)', async () => {
  const file = 'gemini-cli/noninteractive/01-traces.json';
  const h = harness(attributesProcessor, { actions: [{ action: 'truncate', pattern: '^gen_ai\\.(system_instructions|tool\\.definitions)$', length: 100 }] }, 'traces');
  const out = await h.run(fixtureBatch(file));
  const recs = records('traces', out!.toJsonObject());
  const inRecs = records('traces', fixtureJson(file));
  let cut = 0;
  for (let i = 0; i < recs.length; i++) {
    for (const k of ['gen_ai.system_instructions', 'gen_ai.tool.definitions']) {
      const before = attr(inRecs[i].record, k)?.stringValue as string | undefined;
      if (before === undefined) continue;
      const after = attr(recs[i].record, k)!.stringValue as string;
      if ([...before].length > 100) {
        cut++;
        assert.equal(after, [...before].slice(0, 100).join(''));
      } else assert.equal(after, before);
    }
    sameExcept(recs[i].record, inRecs[i].record, ['gen_ai.system_instructions', 'gen_ai.tool.definitions']);
  }
  assert.ok(cut >= 3);
  assert.equal(h.telemetry.total('attribute_values_truncated', { component: 'attributes' }), cut);
});

test('truncateString counts code points and never splits a surrogate pair', () => {
  assert.equal(truncateString('abc', 3), undefined);
  assert.equal(truncateString('abcd', 3), 'abc');
  assert.equal(truncateString('😀😀😀', 2), '😀😀');
  assert.equal(truncateString('😀😀', 2), undefined, 'two characters in four UTF-16 units are not too long');
  assert.equal(truncateString('a😀b', 0), '');
});

test('convertValue: the conversions the README lists', () => {
  const cases: [object, 'int' | 'double' | 'string' | 'bool', unknown][] = [
    [{ stringValue: '2002' }, 'int', { intValue: 2002 }],
    [{ stringValue: '-7' }, 'int', { intValue: -7 }],
    [{ stringValue: '21.5' }, 'int', undefined],
    [{ stringValue: 'n/a' }, 'int', undefined],
    [{ doubleValue: 2.9 }, 'int', { intValue: 2 }],
    [{ doubleValue: -2.9 }, 'int', { intValue: -2 }],
    [{ doubleValue: Infinity }, 'int', undefined],
    [{ boolValue: true }, 'int', { intValue: 1 }],
    [{ intValue: 5 }, 'int', UNCHANGED],
    [{ intValue: 5 }, 'double', { doubleValue: 5 }],
    [{ stringValue: '2e3' }, 'double', { doubleValue: 2000 }],
    [{ stringValue: 'Infinity' }, 'double', undefined],
    [{ doubleValue: 1.5 }, 'string', { stringValue: '1.5' }],
    [{ arrayValue: { values: [{ stringValue: 'STOP' }] } }, 'string', { stringValue: '["STOP"]' }],
    [{ stringValue: 'true' }, 'bool', { boolValue: true }],
    [{ stringValue: 'F' }, 'bool', { boolValue: false }],
    [{ stringValue: 'yes' }, 'bool', undefined],
    [{ intValue: 0 }, 'bool', { boolValue: false }],
    [{ arrayValue: { values: [] } }, 'int', undefined],
  ];
  for (const [v, t, want] of cases) assert.deepEqual(convertValue(v, t), want, `${JSON.stringify(v)} -> ${t}`);
  const big = convertValue({ stringValue: '9223372036854775807' }, 'int') as { intValue: { toString(): string } };
  assert.equal(big.intValue.toString(), '9223372036854775807');
  assert.equal(convertValue({ stringValue: '9223372036854775808' }, 'int'), undefined, 'beyond int64');
});

test('where limits an action to matching records, by event, attribute or resource', async () => {
  const joined = Batch.concat('logs', [fixtureBatch(CLAUDE_LOGS), fixtureBatch(CODEX_LOGS)]);
  const h = harness(
    attributesProcessor,
    { actions: [{ action: 'insert', key: 'agent', value: 'codex', where: { attribute: 'resource.service.name', equals: 'codex_exec' } }] },
    'logs',
  );
  const recs = records('logs', (await h.run(joined))!.toJsonObject());
  for (const r of recs) assert.equal(scalar(r.record, 'agent'), scalar(r.resource, 'service.name') === 'codex_exec' ? 'codex' : undefined);
  assert.ok(recs.some((r) => scalar(r.record, 'agent') === 'codex'));
});

test('actions apply in order: a later where sees what an earlier action did', async () => {
  const { recs } = await logsOut(
    {
      actions: [
        { action: 'convert', key: 'duration_ms', converted_type: 'int' },
        { action: 'insert', key: 'slow', value: true, where: { attribute: 'duration_ms', gte: 50 } },
      ],
    },
    CLAUDE_LOGS,
  );
  for (const r of recs) {
    const d = attr(r.record, 'duration_ms');
    if (d) assert.equal(d.stringValue, undefined);
    assert.equal(scalar(r.record, 'slow'), d && Number(d.intValue) >= 50 ? true : undefined);
  }
});

test('span events get the actions (Codex copies its log events onto spans), unless span_events is false', async () => {
  const file = 'codex/exec/01-traces.json';
  const action = { action: 'convert', key: 'duration_ms', converted_type: 'int' };
  const inEvents = spanEvents(fixtureJson(file)).filter((e) => attr(e.record, 'duration_ms')?.stringValue !== undefined);
  assert.ok(inEvents.length > 0, 'the recording has span events with string durations');
  const on = harness(attributesProcessor, { actions: [action] }, 'traces');
  const withEvents = spanEvents((await on.run(fixtureBatch(file)))!.toJsonObject()).filter((e) => attr(e.record, 'duration_ms'));
  assert.ok(withEvents.every((e) => attr(e.record, 'duration_ms')!.intValue !== undefined));
  const off = harness(attributesProcessor, { actions: [action], span_events: false }, 'traces');
  const b = fixtureBatch(file);
  assert.equal(await off.run(b), b, 'spans have no string duration_ms: nothing changed');
});

test('span event where conditions see the event: name and attributes', async () => {
  const file = 'codex/exec/01-traces.json';
  const h = harness(
    attributesProcessor,
    { actions: [{ action: 'delete', key: 'call_id', where: { field: 'name', equals: 'codex.tool_call_received' } }] },
    'traces',
  );
  const events = spanEvents((await h.run(fixtureBatch(file)))!.toJsonObject());
  const inEvents = spanEvents(fixtureJson(file));
  assert.equal(events.length, inEvents.length);
  for (let i = 0; i < events.length; i++) {
    const want = inEvents[i].record.name === 'codex.tool_call_received' ? undefined : attr(inEvents[i].record, 'call_id');
    assert.deepEqual(attr(events[i].record, 'call_id'), want);
  }
  const spans = records('traces', (await h.run(fixtureBatch(file)))!.toJsonObject());
  const inSpans = records('traces', fixtureJson(file));
  assert.ok(spans.every((s, i) => firstDifference(attr(s.record, 'call_id'), attr(inSpans[i].record, 'call_id')) === null), 'spans keep call_id');
});

test('data points: Claude Code and Gemini CLI per-session ids removed from every metric point', async () => {
  for (const file of ['claude-code/tool-call/02-metrics.json', 'gemini-cli/noninteractive/03-metrics.json', 'codex/exec/03-metrics.json']) {
    const h = harness(attributesProcessor, { actions: [{ action: 'delete', pattern: '^(session|user|installation)\\.id$' }] }, 'metrics');
    const out = await h.run(fixtureBatch(file));
    const recs = records('metrics', out!.toJsonObject());
    const inRecs = records('metrics', fixtureJson(file));
    assert.equal(recs.length, inRecs.length);
    for (let i = 0; i < recs.length; i++)
      assert.deepEqual(keys(recs[i].record), keys(inRecs[i].record).filter((k) => !/^(session|user|installation)\.id$/.test(k)), file);
  }
});

test('data point where conditions see the metric name', async () => {
  const file = 'claude-code/tool-call/02-metrics.json';
  const h = harness(
    attributesProcessor,
    { actions: [{ action: 'upsert', key: 'unit.kind', value: 'money', where: { field: 'name', equals: 'claude_code.cost.usage' } }] },
    'metrics',
  );
  const recs = records('metrics', (await h.run(fixtureBatch(file)))!.toJsonObject());
  for (const r of recs) assert.equal(scalar(r.record, 'unit.kind'), r.parent!.name === 'claude_code.cost.usage' ? 'money' : undefined);
});

test('another pipeline sharing the batch still sees the original values', async () => {
  const h = harness(attributesProcessor, { actions: [{ action: 'delete', key: 'prompt' }] }, 'logs');
  const original = fixtureBatch('claude-code/protobuf/01-logs.pb');
  const other = original.fork();
  const before = other.toJsonObject();
  await h.run(original.fork());
  assert.equal(firstDifference(other.toJsonObject(), before), null);
  assert.ok(records('logs', other.toJsonObject()).some((r) => attr(r.record, 'prompt')));
});

test('attributes: {} and actions that change nothing hand the batch on untouched', async () => {
  for (const config of [{}, { actions: [{ action: 'delete', key: 'no_such_key' }, { action: 'update', key: 'no_such', value: 1 }] }]) {
    const h = harness(attributesProcessor, config, 'logs');
    const b = fixtureBatch('claude-code/protobuf/01-logs.pb');
    const bytes = b.toProto();
    const out = await h.run(b);
    assert.equal(out, b);
    assert.equal(out!.toProto(), bytes);
  }
  // An upsert of the value already there changes nothing either.
  const h = harness(attributesProcessor, { actions: [{ action: 'upsert', key: 'terminal.type', value: scalar(records('logs', fixtureJson(CLAUDE_LOGS))[0].record, 'terminal.type') }] }, 'logs');
  const b = fixtureBatch('claude-code/protobuf/01-logs.pb');
  const bytes = b.toProto();
  assert.equal((await h.run(b))!.toProto(), bytes);
});

const pipeline = (procs: string) => `
receivers: {otlp: {}}
exporters: {debug: {}}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [${procs}], exporters: [debug]}
`;

test('every mistake in the actions is reported with its YAML path', () => {
  const r = loadConfigText(
    `processors:
  attributes/x:
    actions:
      - {action: upsert, key: a, value: 1}
      - {action: upset, key: b, value: 1}
      - {action: insert, value: 1}
      - {action: delete, pattern: '(unclosed'}
      - {action: convert, key: a, converted_type: integer}
      - {action: hash, key: a, hmac_key: too-short-secret}
      - {action: hash, key: a}
      - {action: rename, key: a}
      - {action: truncate, key: a, length: -1}
      - {action: insert, key: a, value: 1, from_attribute: b}
      - {action: delete, key: a, pattern: b}
      - {action: update, key: a}
      - {action: copy, key: a}
      - {key: a}
      - {action: insert, key: a, value: 1, where: {attribute: a, equal: 1}}
      - {action: delete, key: a, to: b}
      - {action: upsert, key: a, value: [1, 2]}
${pipeline('attributes/x')}`,
    {},
  );
  assert.equal(r.config, undefined);
  const errs = r.errors.map((e) => e.replace(/ \(line \d+\)$/, ''));
  const at = (path: string) => errs.find((e) => e.startsWith(`processors.attributes/x.actions${path}: `));
  assert.match(at('[1].action')!, /unknown action string "upset" .*did you mean "upsert"/);
  assert.equal(at('[2].key'), 'processors.attributes/x.actions[2].key: is required');
  assert.match(at('[3].pattern')!, /invalid regular expression "\(unclosed"/);
  assert.match(at('[4].converted_type')!, /expected one of int, double, string, bool/);
  assert.match(at('[5].hmac_key')!, /must be at least 32 bytes long \(got 16\)/);
  assert.ok(!errs.join('\n').includes('too-short-secret'), 'the key itself is never printed');
  assert.match(at('[6].hmac_key')!, /is required/);
  assert.match(at('[7].to')!, /is required/);
  assert.match(at('[8].length')!, /expected a whole number/);
  assert.match(at('[9].from_attribute')!, /value or from_attribute, not both/);
  assert.match(at('[10].pattern')!, /key or pattern, not both/);
  assert.match(at('[11].value')!, /is required \(or from_attribute\)/);
  assert.match(at('[12].from_attribute')!, /is required/);
  assert.match(at('[13].action')!, /is required/);
  assert.match(at('[14].where.equal')!, /unknown key "equal"/);
  assert.match(at('[15].to')!, /unknown key for action delete/);
  assert.match(at('[16].value')!, /expected a string, number or boolean/);
  assert.equal(at('[0]'), undefined);
  assert.equal(at('[0].value'), undefined);
});

test('attributes: {} is a valid config', () => {
  assert.deepEqual(loadConfigText(`processors:\n  attributes: {}\n${pipeline('attributes')}`, {}).errors, []);
});

test('every YAML example in the README loads without errors', () => {
  const blocks = yamlBlocks(readmeOf(__dirname));
  assert.ok(blocks.length >= 2);
  for (const b of blocks) assert.deepEqual(loadExample(b, { ATTRIBUTES_HMAC_KEY: KEY }).errors, [], b);
  // Without the key in the environment the hash action refuses to start.
  assert.match(loadExample(blocks[0], {}).errors.join('\n'), /hmac_key: is required/);
});

test('the README example on all three agents: numbers become numbers, secrets and raw arguments go', async () => {
  const block = yamlBlocks(readmeOf(__dirname))[0].replace('${env:ATTRIBUTES_HMAC_KEY}', KEY);
  const config = Object.values((parseYaml(block) as { processors: Record<string, unknown> }).processors)[0];
  const h = harness(attributesProcessor, config, 'logs', 'attributes/agents');
  const claude = records('logs', (await h.run(fixtureBatch(CLAUDE_LOGS)))!.toJsonObject());
  const tr = claude.find((r) => eventName(r.record) === 'tool_result')!.record;
  assert.deepEqual(attr(tr, 'duration_ms'), { intValue: '75' });
  assert.deepEqual(attr(tr, 'success'), { boolValue: true });
  assert.equal(attr(tr, 'tool_parameters'), undefined);
  assert.ok(claude.every((r) => (scalar(r.record, 'user.id') as string).length === 64));
  const codex = records('logs', (await h.run(fixtureBatch(CODEX_LOGS)))!.toJsonObject());
  const completed = codex.find((r) => attr(r.record, 'input_token_count'))!.record;
  assert.equal(attr(completed, 'input_token_count')!.intValue !== undefined, true);
  assert.ok(!JSON.stringify(codex).includes('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'));
  const gemini = records('logs', (await h.run(fixtureBatch(GEMINI_LOGS)))!.toJsonObject());
  assert.ok(gemini.every((r) => attr(r.record, 'prompt_id') === undefined));
  assert.ok(gemini.some((r) => attr(r.record, 'prompt.id')));
  assert.ok(gemini.every((r) => attr(r.record, 'function_args') === undefined));
  const dur = gemini.find((r) => eventName(r.record) === 'gemini_cli.plan.approval_mode_duration')!.record;
  assert.ok(attr(dur, 'duration_ms')!.doubleValue !== undefined, "Gemini CLI's double duration is left alone");
});

/** Each log record's bytes as received, in order (read without the relay's codec). */
function recordSlices(bytes: Buffer): Buffer[] {
  const m = decodeKeepingBytes('logs', bytes) as LogsRequest;
  return m.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((r) => Buffer.from(receivedBytes(r)!))));
}

test('records that only gain an attribute are sent with their received bytes; one with one removed keeps the bytes of the rest', async () => {
  const file = 'claude-code/protobuf/01-logs.pb';
  const h = harness(
    attributesProcessor,
    {
      actions: [
        { action: 'upsert', key: 'team', value: 'platform' },
        { action: 'delete', key: 'prompt_length', where: { event: 'user_prompt' } },
      ],
    },
    'logs',
  );
  const input = fixtureBatch(file);
  const slices = recordSlices(Buffer.from(input.toProto()));
  const inRecs = records('logs', input.toJsonObject());
  const out = await h.run(fixtureBatch(file));
  const sent = Buffer.from(out!.toProto());
  const recs = records('logs', Batch.fromProto('logs', sent).toJsonObject());
  assert.equal(recs.length, inRecs.length);
  let prompts = 0;
  for (let i = 0; i < recs.length; i++) {
    assert.equal(keys(recs[i].record).at(-1), 'team');
    const prompt = eventName(inRecs[i].record) === 'user_prompt';
    if (prompt) prompts++;
    sameExcept(recs[i].record, inRecs[i].record, prompt ? ['team', 'prompt_length'] : ['team']);
    if (prompt) assert.ok(attr(inRecs[i].record, 'prompt_length') && !attr(recs[i].record, 'prompt_length'));
    assert.equal(sent.includes(slices[i]), !prompt, `record ${i}: received bytes ${prompt ? 'not ' : ''}reused`);
  }
  assert.ok(prompts > 0 && prompts < recs.length);
  // A field OTLP does not define rides on every record: no record, the changed one included, was encoded anew.
  const unknown = withUnknownFieldInRecords(Buffer.from(input.toProto()));
  const again = Buffer.from((await h.run(Batch.fromProto('logs', unknown)))!.toProto());
  assert.equal(countUnknownFields(again), recs.length);
});
