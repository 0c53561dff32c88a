// Requests whose log records, spans or metrics carry a field OTLP does not define (as a
// newer sender's would): a record sent with its received bytes keeps it, a record the
// relay encoded anew loses it. Tests tell the two apart by it.
import * as protobuf from 'protobufjs';

/** Field 1000, varint 1: unknown to every OTLP record message. */
export const UNKNOWN_FIELD = Buffer.from([0xc0, 0x3e, 0x01]);

/** `bytes` (an export request) with UNKNOWN_FIELD appended to every record. */
export function withUnknownFieldInRecords(bytes: Uint8Array): Buffer {
  const w = protobuf.Writer.create();
  copyLevel(protobuf.Reader.create(bytes), bytes.length, 0, w);
  return Buffer.from(w.finish());
}

/** Depth 0: the request; 1: ResourceLogs/Spans/Metrics; 2: ScopeX, whose field 2 holds the records. */
function copyLevel(r: protobuf.Reader, end: number, depth: number, w: protobuf.Writer): void {
  while (r.pos < end) {
    const tag = r.uint32();
    if ((tag & 7) !== 2) throw new Error('the OTLP envelope has only length-delimited fields');
    const len = r.uint32();
    const start = r.pos;
    const field = tag >>> 3;
    const nested = depth === 0 ? field === 1 : field === 2;
    if (nested && depth < 2) {
      w.uint32(tag).fork();
      copyLevel(r, start + len, depth + 1, w);
      w.ldelim();
    } else {
      const body = Buffer.from(r.buf.subarray(start, start + len));
      w.uint32(tag).bytes(depth === 2 && field === 2 ? Buffer.concat([body, UNKNOWN_FIELD]) : body);
      r.pos = start + len;
    }
  }
}

/** How many records of `sent` still carry UNKNOWN_FIELD: those sent with the bytes they arrived with. */
export function countUnknownFields(sent: Uint8Array): number {
  const b = Buffer.from(sent.buffer, sent.byteOffset, sent.byteLength);
  let n = 0;
  for (let at = b.indexOf(UNKNOWN_FIELD); at >= 0; at = b.indexOf(UNKNOWN_FIELD, at + 1)) n++;
  return n;
}
