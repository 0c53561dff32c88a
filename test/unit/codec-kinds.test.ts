// Every AnyValue kind and every metric type survives protobuf -> model -> JSON ->
// model -> protobuf; JSON input follows the OTLP mapping (hex ids, int64 as string
// or number, enums as integers, unknown fields ignored).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Batch } from '../../src/otlp/batch';
import { signalTypes } from '../../src/otlp/schema';
import { JsonShapeError } from '../../src/otlp/json';
import { firstDifference } from '../helpers/otlp-compare';

const attrs = [
  { key: 's', value: { stringValue: 'text' } },
  { key: 'empty-string', value: { stringValue: '' } },
  { key: 'b', value: { boolValue: true } },
  { key: 'b-false', value: { boolValue: false } },
  { key: 'i', value: { intValue: '-9007199254740993' } },
  { key: 'i-zero', value: { intValue: '0' } },
  { key: 'd', value: { doubleValue: 0.1 } },
  { key: 'd-zero', value: { doubleValue: 0 } },
  { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 255]).toString('base64') } },
  { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: '2' }, { arrayValue: { values: [{ boolValue: true }] } }] } } },
  { key: 'kv', value: { kvlistValue: { values: [{ key: 'nested', value: { kvlistValue: { values: [{ key: 'deep', value: { doubleValue: 1.5 } }] } } }] } } },
  { key: 'null-ish', value: {} },
];

const exemplar = { filteredAttributes: [{ key: 'e', value: { stringValue: 'v' } }], timeUnixNano: '1795450276958000001', asDouble: 3.5, spanId: '0102030405060708', traceId: '0102030405060708090a0b0c0d0e0f10' };

const metrics = {
  resourceMetrics: [{
    resource: { attributes: attrs },
    scopeMetrics: [{
      scope: { name: 'scope', version: '1' },
      metrics: [
        { name: 'gauge', unit: '1', gauge: { dataPoints: [{ attributes: attrs, timeUnixNano: '1795450276958000000', asInt: '42', exemplars: [exemplar] }] } },
        { name: 'sum', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ startTimeUnixNano: '1', timeUnixNano: '2', asDouble: 0 }] } },
        { name: 'hist', histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: '2', count: '6', sum: 0, min: -1, max: 9, bucketCounts: ['1', '0', '5'], explicitBounds: [0, 5], exemplars: [exemplar] }] } },
        { name: 'exp', exponentialHistogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: '2', count: '7', sum: 12.5, scale: -3, zeroCount: '1', zeroThreshold: 0.001, positive: { offset: -2, bucketCounts: ['1', '2'] }, negative: { offset: 1, bucketCounts: ['3'] }, min: 0, max: 8 }] } },
        { name: 'summary', summary: { dataPoints: [{ timeUnixNano: '2', count: '3', sum: 7, quantileValues: [{ quantile: 0, value: 1 }, { quantile: 0.99, value: 5 }], flags: 1 }] } },
      ],
      metadata: undefined,
    }],
  }],
};

test('every AnyValue kind and every metric type round-trips losslessly', () => {
  const b1 = Batch.fromJsonObject('metrics', metrics);
  const b2 = Batch.fromProto('metrics', b1.toProto());
  const json = JSON.parse(b2.toJson().toString());
  assert.equal(firstDifference(metrics, json), null);
  // Values the comparison normalises are checked exactly here.
  const pts = json.resourceMetrics[0].scopeMetrics[0].metrics;
  assert.equal(pts[0].gauge.dataPoints[0].attributes[4].value.intValue, '-9007199254740993');
  assert.deepEqual(pts[0].gauge.dataPoints[0].attributes[5].value, { intValue: '0' });
  assert.deepEqual(pts[0].gauge.dataPoints[0].attributes[11].value, {});
  assert.equal(pts[2].histogram.dataPoints[0].sum, 0, 'an optional sum of 0 is kept');
  assert.equal(pts[3].exponentialHistogram.dataPoints[0].min, 0);
  assert.equal(pts[0].gauge.dataPoints[0].exemplars[0].traceId, '0102030405060708090a0b0c0d0e0f10');
  assert.equal(b2.itemCount(), 5);
  // And protobuf -> JSON -> protobuf gives identical bytes.
  const again = Batch.fromJsonObject('metrics', json).toProto();
  assert.deepEqual(Buffer.from(again), Buffer.from(b2.toProto()));
});

test('JSON input: int64 as number or string, enum names, snake_case keys, unknown fields ignored', () => {
  const b = Batch.fromJsonObject('traces', {
    resource_spans: [{
      scopeSpans: [{
        spans: [{
          traceId: 'AABBCCDDEEFF00112233445566778899',
          span_id: 'aabbccddeeff0011',
          startTimeUnixNano: 1795450276958000,
          endTimeUnixNano: '1795450276958000999',
          kind: 'SPAN_KIND_CLIENT',
          status: { code: 2, message: 'boom' },
          someFutureField: { x: 1 },
        }],
      }],
    }],
  });
  const out = JSON.parse(b.toJson().toString());
  const span = out.resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(span.traceId, 'aabbccddeeff00112233445566778899');
  assert.equal(span.spanId, 'aabbccddeeff0011');
  assert.equal(span.startTimeUnixNano, '1795450276958000');
  assert.equal(span.endTimeUnixNano, '1795450276958000999');
  assert.equal(span.kind, 3);
  assert.equal(span.someFutureField, undefined);
  assert.deepEqual(span.status, { code: 2, message: 'boom' });
});

test('JSON of the wrong shape is refused with the path of the bad field', () => {
  const bad = { resourceLogs: [{ scopeLogs: [{ logRecords: [{}, { timeUnixNano: 'yesterday' }] }] }] };
  assert.throws(
    () => Batch.fromJsonObject('logs', bad),
    (e: unknown) => e instanceof JsonShapeError && e.message === 'resourceLogs[0].scopeLogs[0].logRecords[1].timeUnixNano: expected an integer (number or decimal string)',
  );
  assert.throws(() => Batch.fromJsonObject('traces', { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz' }] }] }] }), /traceId: expected a hex-encoded id/);
  assert.throws(() => Batch.fromJsonObject('logs', { resourceLogs: {} }), /resourceLogs: expected an array/);
});

test('fork and edit are copy-on-write: one pipeline never sees another one\'s change', () => {
  const req = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'original' } }] }] }] };
  const received = Batch.fromProto('logs', Batch.fromJsonObject('logs', req).toProto());
  const original = received.toProto();
  const a = received.fork();
  const b = received.fork();
  const m = a.edit() as { resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string } }[] }[] }[] };
  m.resourceLogs[0].scopeLogs[0].logRecords[0].body = { stringValue: 'changed' };
  assert.match(a.toJson().toString(), /changed/);
  assert.match(b.toJson().toString(), /original/);
  assert.equal(b.toProto(), original, 'the untouched fork still forwards the received bytes');
  assert.notDeepEqual(Buffer.from(a.toProto()), Buffer.from(original));
});

test('concatenated batches keep every record and reuse the protobuf bytes', () => {
  const mk = (n: string) => Batch.fromProto('logs', Batch.fromJsonObject('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: n } }] }] }] }).toProto());
  const joined = Batch.concat('logs', [mk('a'), mk('b'), mk('c')]);
  assert.equal(joined.itemCount(), 3);
  const decoded = signalTypes.logs.request.decode(joined.toProto()) as unknown as { resourceLogs: unknown[] };
  assert.equal(decoded.resourceLogs.length, 3);
  assert.deepEqual(JSON.parse(joined.toJson().toString()).resourceLogs.map((r: any) => r.scopeLogs[0].logRecords[0].body.stringValue), ['a', 'b', 'c']);
});

test('int64 out of range is refused, not wrapped or clamped', () => {
  const log = (lr: object) => ({ resourceLogs: [{ scopeLogs: [{ logRecords: [lr] }] }] });
  for (const [lr, msg] of [
    [{ attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }, /out of range for a signed 64-bit integer/],
    [{ attributes: [{ key: 'k', value: { intValue: 1.5e300 } }] }, /out of range/],
    [{ timeUnixNano: '-1' }, /out of range for an unsigned 64-bit integer/],
    [{ timeUnixNano: '18446744073709551616' }, /out of range/],
    [{ timeUnixNano: -5 }, /out of range/],
  ] as const) {
    assert.throws(() => Batch.fromJsonObject('logs', log(lr)), msg as RegExp);
  }
  const ok = Batch.fromJsonObject('logs', log({ timeUnixNano: '0018446744073709551615', attributes: [{ key: 'k', value: { intValue: '-9223372036854775808' } }] }));
  const out = JSON.parse(ok.toJson().toString()).resourceLogs[0].scopeLogs[0].logRecords[0];
  assert.equal(out.timeUnixNano, '18446744073709551615');
  assert.equal(out.attributes[0].value.intValue, '-9223372036854775808');
});
