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

// Hand-made requests, for encodings the fixtures do not hold.
const varint = (n: number): number[] => {
  const out: number[] = [];
  for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
};
const lenField = (no: number, bytes: number[]): number[] => [...varint(no * 8 + 2), ...varint(bytes.length), ...bytes];
const utf8 = (s: string): number[] => [...Buffer.from(s)];
// High bits next to a string that are not its own: an unknown fixed64 field of 0xff bytes, and
// the same whose tag (field 21) takes two bytes, the first with the high bit set.
const NOISE = [...varint(99 * 8 + 1), ...new Array<number>(8).fill(0xff)];
const NOISE_AFTER = [0xa9, 0x01, ...new Array<number>(8).fill(0xff)];
/** A length padded with two more bytes: the two bytes before the string have the high bit set. */
const paddedLength = (n: number): number[] => {
  const bytes = varint(n);
  bytes[bytes.length - 1] |= 0x80;
  return [...bytes, 0x80, 0x00];
};

/** Logs requests holding `s` in three places: a string of the general walk, an attribute's key, an attribute's value. */
function placesOf(s: number[], noise: boolean) {
  // ResourceLogs.resource.attributes; with noise, an attribute whose key is followed by noise takes the general walk.
  const attribute = (kv: number[]) =>
    lenField(1, lenField(1, noise ? [...NOISE, ...lenField(1, kv), ...NOISE_AFTER] : lenField(1, kv)));
  const schemaUrl = noise ? [...NOISE, 0x1a, ...paddedLength(s.length), ...s, ...NOISE_AFTER] : lenField(3, s);
  return [
    { bytes: lenField(1, schemaUrl), type: 'logs.v1.ResourceLogs', field: 3 },
    {
      bytes: attribute([...lenField(1, s), ...(noise ? NOISE_AFTER : []), ...lenField(2, lenField(1, utf8('v')))]),
      type: 'common.v1.KeyValue',
      field: 1,
    },
    { bytes: attribute([...lenField(1, utf8('k')), ...lenField(2, lenField(1, s))]), type: 'common.v1.AnyValue', field: 1 },
  ];
}

/** `bytes` at `offset` in memory of their own, followed there by three 0xff bytes unless `atMemoryEnd`. */
function inMemory(bytes: number[], offset: number, atMemoryEnd: boolean): Uint8Array {
  const memory = new Uint8Array(offset + bytes.length + (atMemoryEnd ? 0 : 3)).fill(0xff);
  memory.set(bytes, offset);
  return memory.subarray(offset, offset + bytes.length);
}

function assertUtf8Outcome(s: number[], valid: boolean, label: string): void {
  for (const noise of [false, true])
    for (const place of placesOf(s, noise))
      for (let offset = 0; offset < 4; offset++)
        for (const atMemoryEnd of [false, true]) {
          const buf = inMemory(place.bytes, offset, atMemoryEnd);
          const where = `${label} in ${place.type} at offset ${offset}${noise ? ', with noise' : ''}${atMemoryEnd ? ', at the end of memory' : ''}`;
          if (valid) assert.deepEqual(scanRequest('logs', buf), { items: 0, badIds: false }, where);
          else
            assert.throws(
              () => scanRequest('logs', buf),
              { message: `opentelemetry.proto.${place.type}: field ${place.field} is not valid UTF-8` },
              where,
            );
        }
}

test('a string is checked byte for byte, whatever its length and its place in memory', () => {
  for (const length of [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 31, 33, 383, 384, 385, 1000]) {
    const bads = length < 40 ? Array.from({ length }, (_, i) => i) : [0, 1, length >> 1, length - 2, length - 1];
    assertUtf8Outcome(new Array<number>(length).fill(0x61), true, `${length} ASCII bytes`);
    for (const bad of bads) {
      const s = new Array<number>(length).fill(0x61);
      s[bad] = 0xff;
      assertUtf8Outcome(s, false, `${length} bytes, 0xff at ${bad}`);
    }
  }
});

test('multi-byte characters: whole ones pass, cut or malformed ones are refused', () => {
  for (const s of ['é', 'aé', 'éa', 'abcé', 'abcdé', '日本語', 'x日', '😀', 'abc😀', '😀abc', 'naïve café '.repeat(40)])
    assertUtf8Outcome(utf8(s), true, JSON.stringify(s).slice(0, 20));
  const bad: [string, number[]][] = [
    ['a 2-byte character cut at the end', [...utf8('abc'), 0xc3]],
    ['a 3-byte character cut at the end', [...utf8('ab'), 0xe6, 0x97]],
    ['a 4-byte character cut at the end', [0xf0, 0x9f, 0x98]],
    ['a continuation byte first', [0xa9, ...utf8('abc')]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a long string cut at the end', [...utf8('x'.repeat(500)), 0xc3]],
  ];
  for (const [label, s] of bad) assertUtf8Outcome(s, false, label);
  // The continuation byte of the string's last character is the next field's tag (0xa9 0x01: field 21, fixed64).
  const split = lenField(1, [...lenField(3, [0x61, 0xc3]), 0xa9, 0x01, ...new Array<number>(8).fill(0)]);
  assert.throws(() => scanRequest('logs', Buffer.from(split)), { message: 'opentelemetry.proto.logs.v1.ResourceLogs: field 3 is not valid UTF-8' });
});

test('tags and lengths may be padded up to five bytes; longer or past the end is refused', () => {
  const padded = (n: number, bytes: number) =>
    bytes === 1 ? [n] : [n | 0x80, ...new Array<number>(bytes - 2).fill(0x80), 0x00];
  for (let bytes = 1; bytes <= 5; bytes++) {
    // ResourceLogs.schema_url 'abc', its tag and length padded to `bytes` bytes, in a ResourceLogs whose length is too.
    const inner = [...padded(0x1a, bytes), ...padded(3, bytes), ...utf8('abc')];
    const request = Buffer.from([...padded(0x0a, bytes), ...padded(inner.length, bytes), ...inner]);
    assert.deepEqual(scanRequest('logs', request), { items: 0, badIds: false }, `${bytes} bytes`);
    const decoded = signalTypes.logs.request.decode(request) as unknown as { resourceLogs: { schemaUrl: string }[] };
    assert.equal(decoded.resourceLogs[0].schemaUrl, 'abc');
  }
  assert.throws(() => scanRequest('logs', Buffer.from([0x0a, ...padded(3, 6), ...utf8('abc')])), {
    message: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest: malformed length',
  });
  assert.throws(() => scanRequest('logs', Buffer.from([...padded(0x0a, 6), 0x00])), {
    message: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest: malformed tag',
  });
  // Five-byte lengths past 2^31 and 2^32.
  for (const length of [[0x80, 0x80, 0x80, 0x80, 0x08], [0xff, 0xff, 0xff, 0xff, 0x7f]])
    assert.throws(() => scanRequest('logs', Buffer.from([0x0a, ...length, 0x00])), {
      message: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest: field 1 is longer than its message',
    });
});

test('repeated scalars pass packed and unpacked, with the count the decoder gives', () => {
  const fixed64 = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0];
  // HistogramDataPoint.bucket_counts (6, fixed64) and explicit_bounds (7, double), packed or one record each.
  const point = (packed: boolean) =>
    packed
      ? [...lenField(6, [...fixed64(1), ...fixed64(2)]), ...lenField(7, fixed64(0))]
      : [0x31, ...fixed64(1), 0x31, ...fixed64(2), 0x39, ...fixed64(0)];
  // ResourceMetrics.scope_metrics, ScopeMetrics.metrics, Metric.histogram, Histogram.data_points.
  const request = (points: number[][]) =>
    Buffer.from(lenField(1, lenField(2, lenField(2, lenField(9, points.flatMap((p) => lenField(1, p)))))));
  for (const packed of [true, false]) {
    const bytes = request([point(packed), point(packed), point(!packed)]);
    const decoded = signalTypes.metrics.request.decode(bytes) as unknown as RequestModel;
    assert.deepEqual(scanRequest('metrics', bytes), { items: 3, badIds: false });
    assert.equal(countItems('metrics', decoded), 3);
  }
  // count (4) is a single fixed64: it cannot arrive packed.
  assert.throws(() => scanRequest('metrics', request([lenField(4, fixed64(1))])), {
    message: 'opentelemetry.proto.metrics.v1.HistogramDataPoint: field 4 has wire type 2, expected 1',
  });
});

test('attributes nest up to 64 messages deep, not deeper', () => {
  // An AnyValue holding `arrays` ArrayValues, the last one holding a key-value list of one plain attribute.
  const nested = (arrays: number) => {
    let value = lenField(6, lenField(1, [...lenField(1, utf8('k')), ...lenField(2, lenField(1, utf8('v')))]));
    for (let i = 0; i < arrays; i++) value = lenField(5, lenField(1, value));
    return value;
  };
  const attribute = (arrays: number) => [...lenField(1, utf8('a')), ...lenField(2, nested(arrays))];
  // A resource attribute is 3 deep (request 0, ResourceLogs, Resource, KeyValue), a log record's 4 deep.
  const onResource = (arrays: number) => Buffer.from(lenField(1, lenField(1, lenField(1, attribute(arrays)))));
  const onRecord = (arrays: number) => Buffer.from(lenField(1, lenField(2, lenField(2, lenField(6, attribute(arrays))))));
  // The innermost AnyValue is 7 + 2 * arrays deep on a resource, 8 + 2 * arrays on a log record.
  assert.deepEqual(scanRequest('logs', onResource(28)), { items: 0, badIds: false });
  assert.deepEqual(scanRequest('logs', onRecord(28)), { items: 1, badIds: false });
  assert.throws(() => scanRequest('logs', onResource(29)), { message: 'opentelemetry.proto.common.v1.AnyValue: nested too deep' });
  assert.throws(() => scanRequest('logs', onRecord(29)), { message: 'opentelemetry.proto.common.v1.KeyValue: nested too deep' });
});
