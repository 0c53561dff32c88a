// Record-level reuse of received bytes (src/otlp/record-bytes.ts), checked on the agents'
// recorded requests: what is sent decodes to what the relay holds, records nobody changed
// go out with the bytes they came with, and a changed record is never sent as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Batch } from '../../src/otlp/batch';
import { signalTypes, type Signal } from '../../src/otlp/schema';
import { toJson } from '../../src/otlp/json';
import { addAttribute, checkReuse, replaceAttributes, setScalar, decodeKeepingBytes, encodeReusingBytes, forgetBytes, receivedBytes } from '../../src/otlp/record-bytes';
import type { LogRecord, LogsRequest, RequestModel } from '../../src/otlp/model';
import { listFixtures } from '../helpers/fixtures';
import { countUnknownFields, withUnknownFieldInRecords } from '../helpers/unknown-fields';

const protoFixtures = listFixtures().filter((f) => f.format === 'proto');

const asJson = (signal: Signal, bytes: Uint8Array) => toJson(signalTypes[signal].request, signalTypes[signal].request.decode(bytes));

function recordsOf(signal: Signal, model: RequestModel): object[] {
  const out: object[] = [];
  const req = model as unknown as Record<string, { [k: string]: { [k: string]: object[] }[] }[]>;
  const field = signalTypes[signal].resourceField;
  const inner = { logs: ['scopeLogs', 'logRecords'], traces: ['scopeSpans', 'spans'], metrics: ['scopeMetrics', 'metrics'] }[signal];
  for (const rx of req[field] ?? []) for (const sx of rx[inner[0]] ?? []) out.push(...((sx as unknown as Record<string, object[]>)[inner[1]] ?? []));
  return out;
}

test('decoding keeps each record\'s bytes and reads the same model as protobufjs', () => {
  assert.ok(protoFixtures.length >= 6, 'the recorded protobuf requests are found');
  for (const f of protoFixtures) {
    const bytes = fs.readFileSync(f.file);
    const model = decodeKeepingBytes(f.signal, bytes);
    assert.deepEqual(toJson(signalTypes[f.signal].request, model), asJson(f.signal, bytes), f.name);
    const records = recordsOf(f.signal, model);
    assert.ok(records.length > 0 && records.every((r) => receivedBytes(r) !== undefined), `${f.name}: every record keeps its bytes`);
  }
});

test('a request nobody changed is sent with every record\'s received bytes, and reads the same', () => {
  for (const f of protoFixtures) {
    const bytes = fs.readFileSync(f.file);
    const model = decodeKeepingBytes(f.signal, bytes);
    const out = Buffer.from(encodeReusingBytes(f.signal, model));
    assert.deepEqual(asJson(f.signal, out), asJson(f.signal, bytes), f.name);
    // The envelope (resource, scope) is encoded anew; each record is copied.
    let from = 0;
    for (const rec of recordsOf(f.signal, model)) {
      const own = Buffer.from(receivedBytes(rec)!);
      const at = out.indexOf(own, from);
      assert.ok(at >= 0, `${f.name}: a record's received bytes are in what is sent, in order`);
      from = at + own.length;
    }
  }
});

function claudeLogs(): { bytes: Buffer; batch: Batch } {
  const f = protoFixtures.find((x) => x.name.includes('claude-code') && x.signal === 'logs')!;
  const bytes = fs.readFileSync(f.file);
  return { bytes, batch: Batch.fromProto('logs', bytes) };
}

const logsOf = (m: RequestModel) => (m as LogsRequest).resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));

test('a record passed to forgetBytes is encoded from its fields; the others keep their bytes', () => {
  const { bytes, batch } = claudeLogs();
  const logs = logsOf(batch.editRecords());
  assert.ok(logs.length >= 3);
  logs[1].attributes = [...logs[1].attributes, { key: 'added', value: { stringValue: 'yes' } }];
  forgetBytes(logs[1]);
  const sent = logsOf(signalTypes.logs.request.decode(batch.toProto()) as unknown as RequestModel);
  assert.equal(sent.length, logs.length);
  assert.equal(sent[1].attributes.at(-1)!.key, 'added');
  const before = logsOf(signalTypes.logs.request.decode(bytes) as unknown as RequestModel);
  assert.deepEqual(sent[0].attributes.map((a) => a.key), before[0].attributes.map((a) => a.key));
  assert.ok(receivedBytes(logs[0]));
  assert.equal(receivedBytes(logs[1]), undefined);
});

test('a scalar set where there was none is written after the record\'s bytes and wins when decoded', () => {
  const { bytes, batch } = claudeLogs();
  const logs = logsOf(batch.editRecords());
  const kept = Buffer.from(receivedBytes(logs[0])!);
  const original = Buffer.from(signalTypes.logs.request.encode(batch.read()).finish());
  assert.equal(logs[0].eventName ?? '', '', 'Claude Code leaves LogRecord.eventName empty');
  setScalar(logs[0], 'eventName', 'claude_code.renamed');
  const out = Buffer.from(batch.toProto());
  const sent = logsOf(signalTypes.logs.request.decode(out) as unknown as RequestModel);
  assert.equal(sent[0].eventName, 'claude_code.renamed');
  // The same record, only grown by the appended field: its received bytes were copied, not re-encoded.
  assert.ok(out.length > original.length && out.length < original.length + 40);
  assert.ok(out.includes(kept) && bytes.includes(kept));
});

test('an added attribute is written after the record\'s bytes and read at the end of its list', () => {
  const { bytes, batch } = claudeLogs();
  const logs = logsOf(batch.editRecords());
  const kept = Buffer.from(receivedBytes(logs[1])!);
  const keys = logs[1].attributes.map((a) => a.key);
  const original = Buffer.from(signalTypes.logs.request.encode(batch.read()).finish());
  addAttribute(logs[1], { key: 'team', value: { stringValue: 'platform' } });
  setScalar(logs[1], 'eventName', 'claude_code.named');
  assert.equal(receivedBytes(logs[1]), undefined, 'the bytes alone are no longer the record');
  const out = Buffer.from(batch.toProto());
  const sent = logsOf(signalTypes.logs.request.decode(out) as unknown as RequestModel);
  assert.deepEqual(sent[1].attributes.map((a) => a.key), [...keys, 'team']);
  assert.equal(sent[1].attributes.at(-1)!.value!.stringValue, 'platform');
  assert.equal(sent[1].eventName, 'claude_code.named');
  // Copied, then grown by the attribute and the name only.
  assert.ok(out.includes(kept) && bytes.includes(kept));
  assert.ok(out.length > original.length && out.length < original.length + 60);
});

test('a record left with fewer attributes than before its additions is encoded anew', () => {
  const { batch } = claudeLogs();
  const logs = logsOf(batch.editRecords());
  const kept = Buffer.from(receivedBytes(logs[1])!);
  addAttribute(logs[1], { key: 'team', value: { stringValue: 'platform' } });
  logs[1].attributes.splice(0, logs[1].attributes.length);
  const out = Buffer.from(batch.toProto());
  assert.equal(out.includes(kept), false);
  assert.deepEqual(logsOf(signalTypes.logs.request.decode(out) as unknown as RequestModel)[1].attributes, []);
});

test('a new attribute list keeps the record\'s other fields and unchanged attributes from its bytes; a replaced value is gone', () => {
  const { bytes } = claudeLogs();
  const batch = Batch.fromProto('logs', withUnknownFieldInRecords(bytes));
  const logs = logsOf(batch.editRecords());
  const i = logs.findIndex((l) => l.attributes.some((a) => a.key === 'prompt'));
  assert.ok(i >= 0, 'the fixture has a user_prompt record');
  const prompt = logs[i].attributes.find((a) => a.key === 'prompt')!.value!.stringValue!;
  assert.ok(prompt.length > 8);
  const keys = logs[i].attributes.map((a) => a.key);
  const list = logs[i].attributes
    .filter((a) => a.key !== 'event.sequence')
    .map((a) => (a.key === 'prompt' ? { key: 'prompt', value: { stringValue: '[REDACTED]' } } : a));
  list.push({ key: 'redaction.masked.count', value: { intValue: 1 } as never });
  replaceAttributes(logs[i], list);
  setScalar(logs[i], 'eventName', 'claude_code.user_prompt');
  const out = Buffer.from(batch.toProto());
  assert.equal(out.includes(Buffer.from(prompt)), false, 'the prompt is not sent');
  assert.equal(countUnknownFields(out), logs.length, 'every record kept its other fields from its bytes');
  const sent = logsOf(signalTypes.logs.request.decode(out) as unknown as RequestModel)[i];
  assert.deepEqual(sent.attributes.map((a) => a.key), [...keys.filter((k) => k !== 'event.sequence'), 'redaction.masked.count']);
  assert.equal(sent.attributes.find((a) => a.key === 'prompt')!.value!.stringValue, '[REDACTED]');
  assert.equal(sent.eventName, 'claude_code.user_prompt');
  // Forgotten afterwards: encoded anew, the unknown field goes with the bytes.
  forgetBytes(logsOf(batch.editRecords())[i]);
  assert.equal(countUnknownFields(Buffer.from(batch.toProto())), logs.length - 1);
});

test('a scalar that had a value is not left in the bytes: the record is encoded anew', () => {
  const { batch } = claudeLogs();
  setScalar(logsOf(batch.editRecords())[0], 'eventName', 'first-name-9f3a');
  // A second relay in a row renames it again: the first name must be gone from the wire.
  const second = Batch.fromProto('logs', batch.toProto());
  setScalar(logsOf(second.editRecords())[0], 'eventName', 'second-name');
  const out = Buffer.from(second.toProto());
  assert.equal(out.includes(Buffer.from('first-name-9f3a')), false);
  assert.equal(logsOf(signalTypes.logs.request.decode(out) as unknown as RequestModel)[0].eventName, 'second-name');
});

test('an unset scalar makes the record be encoded anew, so the old value does not come back', () => {
  const { batch } = claudeLogs();
  const logs = logsOf(batch.editRecords());
  setScalar(logs[0], 'eventName', 'x');
  delete (logs[0] as Partial<LogRecord>).eventName;
  const sent = logsOf(signalTypes.logs.request.decode(batch.toProto()) as unknown as RequestModel);
  assert.equal(sent[0].eventName, '');
});

test('a copy of a record does not inherit its bytes', () => {
  const { batch } = claudeLogs();
  const model = batch.editRecords() as LogsRequest;
  const sl = model.resourceLogs[0].scopeLogs[0];
  sl.logRecords[0] = { ...sl.logRecords[0], attributes: [] };
  const sent = logsOf(signalTypes.logs.request.decode(batch.toProto()) as unknown as RequestModel);
  assert.equal(sent[0].attributes.length, 0);
});

test('edit() forgets every record\'s bytes: changes made without saying so are still sent', () => {
  const { batch } = claudeLogs();
  const logs = logsOf(batch.edit());
  logs[2].severityText = 'CHANGED';
  const sent = logsOf(signalTypes.logs.request.decode(batch.toProto()) as unknown as RequestModel);
  assert.equal(sent[2].severityText, 'CHANGED');
});

test('the check mode refuses to send a record changed without forgetBytes', () => {
  const { batch } = claudeLogs();
  const logs = logsOf(batch.editRecords());
  logs[0].severityText = 'CHANGED';
  checkReuse(true);
  try {
    assert.throws(() => batch.toProto(), /changed without forgetBytes/);
  } finally {
    checkReuse(process.env.AGENTRELAY_CHECK_REUSE === '1');
  }
});

test('requests built from JSON encode as protobufjs encodes them', () => {
  for (const f of listFixtures().filter((x) => x.format === 'json')) {
    const batch = Batch.fromJsonObject(f.signal, JSON.parse(fs.readFileSync(f.file, 'utf8')));
    const expected = Buffer.from(signalTypes[f.signal].request.encode(batch.read()).finish());
    assert.ok(Buffer.from(batch.toProto()).equals(expected), f.name);
  }
});

test('records of decoded requests joined into one keep their bytes', () => {
  const { bytes } = claudeLogs();
  const a = Batch.fromProto('logs', bytes);
  const b = Batch.fromProto('logs', bytes);
  // Decoded first, so the join merges models rather than concatenating encodings.
  const [la, lb] = [logsOf(a.read()), logsOf(b.read())];
  const joined = Batch.concat('logs', [a, b]);
  const out = Buffer.from(joined.toProto());
  const sent = logsOf(signalTypes.logs.request.decode(out) as unknown as RequestModel);
  assert.equal(sent.length, la.length + lb.length);
  for (const rec of [...la, ...lb]) assert.ok(out.includes(Buffer.from(receivedBytes(rec)!)));
});
