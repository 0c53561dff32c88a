// Strings read from protobuf (the reader schema.ts installs): every length on both sides of
// the 64-byte switch, ASCII and not, come back as sent; bytes that are not UTF-8 are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signalTypes } from '../../src/otlp/schema';
import { decodeKeepingBytes } from '../../src/otlp/record-bytes';
import type { LogsRequest } from '../../src/otlp/model';

const request = signalTypes.logs.request;

function encodeBodies(bodies: string[]): Buffer {
  const req = { resourceLogs: [{ scopeLogs: [{ logRecords: bodies.map((b) => ({ body: { stringValue: b }, attributes: [{ key: b, value: { stringValue: b } }] })) }] }] };
  return Buffer.from(request.encode(request.fromObject(req)).finish());
}

const bodiesOf = (m: LogsRequest) => m.resourceLogs[0].scopeLogs[0].logRecords.map((r) => [r.body!.stringValue!, r.attributes[0].key]);

test('strings of every length, ASCII or not, read back as they were written', () => {
  const samples: string[] = [];
  for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 200, 5000]) {
    samples.push('a'.repeat(n));
    if (n > 0) samples.push('é' + 'x'.repeat(n - 1), 'x'.repeat(n - 1) + '😀', '日本'.repeat(Math.ceil(n / 2)).slice(0, n));
  }
  samples.push('\u007f\u0000tab\tline\n', 'ÿ', '\u00a0');
  const bytes = encodeBodies(samples);
  for (const decode of [(b: Buffer) => decodeKeepingBytes('logs', b), (b: Buffer) => request.decode(b) as unknown as LogsRequest]) {
    const got = bodiesOf(decode(bytes) as LogsRequest);
    assert.deepEqual(got, samples.map((s) => [s, s]));
  }
  // A Uint8Array that is not a Buffer reads the same.
  const plain = new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  assert.deepEqual(bodiesOf(decodeKeepingBytes('logs', plain) as LogsRequest), samples.map((s) => [s, s]));
});

test('a string that is not UTF-8 is refused, short or long', () => {
  for (const filler of ['ab', 'z'.repeat(100)]) {
    const marker = 'QQ' + filler;
    const bytes = encodeBodies([marker]);
    // Replace the marker's first two bytes (the body's copy) with an invalid sequence.
    const at = bytes.indexOf(Buffer.from(marker));
    bytes[at] = 0xc3;
    bytes[at + 1] = 0x28;
    assert.throws(() => decodeKeepingBytes('logs', bytes), /UTF-8|utf-8/i, `${marker.length} bytes`);
  }
});
