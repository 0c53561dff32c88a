// The wire scan lets protobuf requests through without decoding them, so it must
// refuse whatever the decoder would fail on, and count what the decoder would count.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { scanRequest, WireError } from '../../src/otlp/wire';
import { signalTypes } from '../../src/otlp/schema';
import { countItems, Batch } from '../../src/otlp/batch';
import type { RequestModel } from '../../src/otlp/model';
import { listFixtures } from '../helpers/fixtures';

const protoOf = (f: ReturnType<typeof listFixtures>[number]) =>
  f.format === 'proto' ? fs.readFileSync(f.file) : Buffer.from(Batch.fromJsonObject(f.signal, JSON.parse(fs.readFileSync(f.file, 'utf8'))).toProto());

test('the scan counts the same items as a full decode, on every fixture', () => {
  for (const f of listFixtures()) {
    const bytes = protoOf(f);
    const decoded = signalTypes[f.signal].request.decode(bytes) as unknown as RequestModel;
    const r = scanRequest(f.signal, bytes);
    assert.equal(r.items, countItems(f.signal, decoded), f.name);
    assert.ok(r.items > 0, f.name);
    assert.equal(r.badIds, false, f.name);
  }
});

test('malformed bytes are refused with a reason', () => {
  assert.throws(() => scanRequest('logs', Buffer.from([0x0a, 0x05, 0x01])), WireError); // length past the end
  assert.throws(() => scanRequest('logs', Buffer.from([0x0b])), /invalid wire type 3/);
  assert.throws(() => scanRequest('logs', Buffer.from([0x08, 0x01])), /field 1 has wire type 0, expected 2/);
  assert.throws(() => scanRequest('logs', Buffer.from('this is not protobuf')), WireError);
  // Unknown fields are skipped, as protobuf requires.
  assert.deepEqual(scanRequest('logs', Buffer.from([0xf8, 0x01, 0x05])), { items: 0, badIds: false });
});

test('ids of a wrong length are noticed', () => {
  const span = (traceId: string, spanId: string) =>
    Buffer.from(Batch.fromJsonObject('traces', { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId, spanId, name: 'x' }] }] }] }).toProto());
  assert.equal(scanRequest('traces', span('0102030405060708090a0b0c0d0e0f10', '0102030405060708')).badIds, false);
  assert.equal(scanRequest('traces', span('010203', '0102030405060708')).badIds, true);
  assert.equal(scanRequest('traces', span('', '0102030405060708')).badIds, true, 'a span needs a trace id');
  const log = (traceId: string) =>
    Buffer.from(Batch.fromJsonObject('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId }] }] }] }).toProto());
  assert.equal(scanRequest('logs', log('')).badIds, false, 'a log record may have no trace id');
  assert.equal(scanRequest('logs', log('0102')).badIds, true);
});

test('whatever the scan accepts, the decoder decodes, with the same count (mutated fixtures)', () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return (seed >>> 8) % n;
  };
  let accepted = 0;
  let refused = 0;
  for (const f of listFixtures().filter((x) => x.format === 'proto')) {
    const original = protoOf(f);
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(original);
      const mutations = 1 + rnd(3);
      for (let m = 0; m < mutations; m++) b[rnd(b.length)] = rnd(256);
      const cut = rnd(4) === 0 ? b.subarray(0, rnd(b.length)) : b;
      let r;
      try {
        r = scanRequest(f.signal, cut);
      } catch (e) {
        assert.ok(e instanceof WireError, `${f.name}: ${(e as Error).message}`);
        refused++;
        continue;
      }
      accepted++;
      const decoded = signalTypes[f.signal].request.decode(cut) as unknown as RequestModel;
      assert.equal(r.items, countItems(f.signal, decoded), `${f.name} mutation ${i}`);
    }
  }
  assert.ok(accepted > 50 && refused > 50, `accepted ${accepted}, refused ${refused}`);
});
