// A protobuf wire-format walk that checks a request without building it: every
// known field has the wire type its declaration allows, every length fits, and
// nested messages are checked the same way. It counts the items (log records,
// spans, data points) and notices records whose trace or span ids have a wrong
// length. With it the receiver can accept, count and forward protobuf bytes
// without decoding them into objects; the model is built only if something reads it.
//
// It runs on every protobuf request the relay receives, so it is written for speed:
// what a field accepts is one integer of flags, the walk is one loop with its own
// stack (no call per nested message), one-byte tags and lengths take a short path,
// a plain attribute (most of a request) is checked in one go, and strings are
// checked for ASCII four bytes at a time.
import * as protobuf from 'protobufjs';
import { isUtf8 } from 'node:buffer';
import { signalTypes, SIGNALS, type Signal } from './schema';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

// Flags of a known field. The low three bits hold the wire type its declaration
// allows; KNOWN makes every known field's flags non-zero, even for wire type 0.
const WIRE_BITS = 7;
const KNOWN = 1 << 3;
/** A repeated scalar that may also arrive packed (one LEN record). */
const PACKABLE = 1 << 4;
/** Counting: each occurrence of this field is one item. */
const ITEM = 1 << 5;
/** A string: must be valid UTF-8, as the decoder (and protobuf) requires. */
const UTF8 = 1 << 6;
/** A message: its bytes are walked with the rules of its type. */
const SUB = 1 << 7;
/** A trace or span id whose length is checked. */
const ID = 1 << 8;
/** A KeyValue (an attribute): a plain one is checked in one go, see isPlainAttribute. */
const KEY_VALUE = 1 << 9;
/** Bit L of the flags shifted right by this is set when an id of L bytes is well formed (L <= 16). */
const ID_LENGTHS_SHIFT = 12;
const MAX_ID_LENGTH = 16;

/** How deep messages may nest (AnyValue can nest without end). */
const MAX_DEPTH = 64;

class TypeRules {
  /** Flags of each field, by field number; 0 for an unknown field. */
  readonly flags: Int32Array;
  /** Rules of each message field's type, by field number. */
  readonly subs: (TypeRules | null)[];
  /** Bit f set: a record without id field f has a bad id (spans need a trace and a span id). */
  requiredIds = 0;

  constructor(
    readonly name: string,
    maxField: number,
  ) {
    this.flags = new Int32Array(maxField + 1);
    this.subs = new Array<TypeRules | null>(maxField + 1).fill(null);
  }
}

const rulesCache = new Map<protobuf.Type, TypeRules>();

function wireOf(type: string): number {
  switch (type) {
    case 'double': case 'fixed64': case 'sfixed64': return FIXED64;
    case 'float': case 'fixed32': case 'sfixed32': return FIXED32;
    case 'string': case 'bytes': return LEN;
    default: return VARINT;
  }
}

const ITEM_FIELDS = new Set([
  'opentelemetry.proto.logs.v1.ScopeLogs.logRecords',
  'opentelemetry.proto.trace.v1.ScopeSpans.spans',
  'opentelemetry.proto.metrics.v1.Gauge.dataPoints',
  'opentelemetry.proto.metrics.v1.Sum.dataPoints',
  'opentelemetry.proto.metrics.v1.Histogram.dataPoints',
  'opentelemetry.proto.metrics.v1.ExponentialHistogram.dataPoints',
  'opentelemetry.proto.metrics.v1.Summary.dataPoints',
]);

/** Id fields to check, by type and field number: the lengths they may have. */
const ID_FIELDS: Record<string, Record<number, number[]>> = {
  'opentelemetry.proto.logs.v1.LogRecord': { 9: [0, 16], 10: [0, 8] },
  'opentelemetry.proto.trace.v1.Span': { 1: [16], 2: [8], 4: [0, 8] },
};
const REQUIRED_IDS: Record<string, number[]> = {
  'opentelemetry.proto.trace.v1.Span': [1, 2],
};

function rulesFor(type: protobuf.Type): TypeRules {
  let r = rulesCache.get(type);
  if (r) return r;
  const name = type.fullName.replace(/^\./, '');
  r = new TypeRules(name, Math.max(0, ...type.fieldsArray.map((f) => f.id)));
  rulesCache.set(type, r); // before recursing: message types nest (AnyValue in ArrayValue in AnyValue)
  const ids = ID_FIELDS[name] ?? {};
  for (const f of type.fieldsArray) {
    const isMsg = f.resolvedType instanceof protobuf.Type;
    let flags = KNOWN | (isMsg ? LEN : f.resolvedType instanceof protobuf.Enum ? VARINT : wireOf(f.type));
    if (f.repeated && !isMsg && f.type !== 'string' && f.type !== 'bytes') flags |= PACKABLE;
    if (ITEM_FIELDS.has(`${name}.${f.name}`)) flags |= ITEM;
    if (f.type === 'string') flags |= UTF8;
    if (isMsg) {
      flags |= SUB;
      r.subs[f.id] = rulesFor(f.resolvedType as protobuf.Type);
    }
    const lengths = ids[f.id];
    if (lengths !== undefined) {
      flags |= ID;
      for (const l of lengths) flags |= 1 << (ID_LENGTHS_SHIFT + l);
    }
    r.flags[f.id] = flags;
  }
  for (const f of REQUIRED_IDS[name] ?? []) r.requiredIds |= 1 << f;
  return r;
}

const requestRules = {} as Record<Signal, TypeRules>;
for (const s of SIGNALS) requestRules[s] = rulesFor(signalTypes[s].request);
markKeyValueFields();

/**
 * Flags the fields that hold KeyValue messages, once the rules show that KeyValue and
 * AnyValue have the shape isPlainAttribute assumes (without it, they take the general walk).
 */
function markKeyValueFields(): void {
  const kv = [...rulesCache.values()].find((r) => r.name === 'opentelemetry.proto.common.v1.KeyValue');
  const av = kv?.subs[2];
  const shapeHolds =
    kv !== undefined && av != null && kv.requiredIds === 0 && av.requiredIds === 0 &&
    kv.flags[1] === (KNOWN | LEN | UTF8) && kv.flags[2] === (KNOWN | LEN | SUB) &&
    av.flags[1] === (KNOWN | LEN | UTF8) && av.flags[2] === (KNOWN | VARINT) &&
    av.flags[3] === (KNOWN | VARINT) && av.flags[4] === (KNOWN | FIXED64);
  if (!shapeHolds) return;
  for (const r of rulesCache.values())
    r.subs.forEach((sub, field) => {
      if (sub === kv) r.flags[field] |= KEY_VALUE;
    });
}

// Strings are checked four bytes at a time, as 32-bit words of the buffer's memory: a word is
// read whole and the masks keep the high bits of the bytes that belong to the string (a string
// seldom starts or ends on a word boundary; the other bytes of its first and last words, which
// may lie outside `buf`, count for nothing). Any high bit set: the native check decides.
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const HIGH_BITS = 0x80808080 | 0;
/** By the offset of a string's first byte in its word: the high bits of that byte and the ones after it. */
const HEAD_MASKS = Int32Array.of(HIGH_BITS, 0x80808000 | 0, 0x80800000 | 0, 0x80000000 | 0);
/** By the offset of a string's last byte in its word: the high bits of that byte and the ones before it. */
const TAIL_MASKS = Int32Array.of(0x80, 0x8080, 0x808080, HIGH_BITS);
const NO_WORDS = new Int32Array(0);
/** From this length on, the native check (SIMD) is faster than the words, even for ASCII (measured: ~400 bytes). */
const NATIVE_FROM = 384;

/** The words of the memory that holds `buf` (none on a big-endian machine, where the masks would not fit). */
function wordsOf(buf: Uint8Array): Int32Array {
  if (!LITTLE_ENDIAN || buf.length === 0) return NO_WORDS;
  return new Int32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
}

export class WireError extends Error {}

export interface ScanResult {
  items: number;
  /** Some record has a trace or span id of a wrong length. */
  badIds: boolean;
}

// The walk's stack of enclosing messages. The walk never yields, so one stack serves every call.
const stackRules: TypeRules[] = new Array<TypeRules>(MAX_DEPTH).fill(requestRules.logs);
const stackEnds = new Float64Array(MAX_DEPTH);
const stackSeenIds = new Int32Array(MAX_DEPTH);

/** Checks a protobuf export request of `signal`; throws WireError when it is malformed. */
export function scanRequest(signal: Signal, buf: Uint8Array): ScanResult {
  let rules = requestRules[signal];
  let flags = rules.flags;
  let end = buf.length;
  let pos = 0;
  let depth = 0;
  /** Bit f set: id field f of the current message was seen. */
  let seenIds = 0;
  let items = 0;
  let badIds = false;
  const words = wordsOf(buf);
  const base = buf.byteOffset;
  for (;;) {
    if (pos >= end) {
      if ((seenIds & rules.requiredIds) !== rules.requiredIds) badIds = true;
      if (depth === 0) break;
      depth--;
      rules = stackRules[depth];
      flags = rules.flags;
      end = stackEnds[depth];
      seenIds = stackSeenIds[depth];
      continue;
    }
    let tag = buf[pos++];
    if (tag > 0x7f) {
      // Field numbers fit in 29 bits: at most 5 bytes. Bits past 32 are dropped.
      let b = tag;
      let shift = 7;
      tag &= 0x7f;
      do {
        if (pos >= end) throw new WireError(`${rules.name}: truncated tag`);
        b = buf[pos++];
        tag |= (b & 0x7f) << shift;
        shift += 7;
      } while (b & 0x80 && shift < 35);
      if (b & 0x80) throw new WireError(`${rules.name}: malformed tag`);
    }
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new WireError(`${rules.name}: field number 0`);
    let len = 0;
    if (wire === LEN) {
      if (pos >= end) throw new WireError(`${rules.name}: truncated length`);
      len = buf[pos++];
      if (len > 0x7f) {
        // Multiplied, not shifted: a 5-byte length can pass 2^31 (and is then refused below).
        let l = len & 0x7f;
        let b = len;
        let scale = 128;
        do {
          if (pos >= end) throw new WireError(`${rules.name}: truncated length`);
          b = buf[pos++];
          l += (b & 0x7f) * scale;
          scale *= 128;
        } while (b & 0x80 && scale < 2 ** 35);
        if (b & 0x80) throw new WireError(`${rules.name}: malformed length`);
        if (pos + l > end) throw new WireError(`${rules.name}: field ${field} is longer than its message`);
        len = l;
      } else if (pos + len > end) throw new WireError(`${rules.name}: field ${field} is longer than its message`);
    } else if (wire === VARINT) {
      let b: number;
      let n = 0;
      do {
        if (pos >= end) throw new WireError(`${rules.name}: truncated varint`);
        b = buf[pos++];
      } while (b & 0x80 && ++n < 10);
      if (b & 0x80) throw new WireError(`${rules.name}: varint too long`);
    } else if (wire === FIXED64 || wire === FIXED32) {
      pos += wire === FIXED64 ? 8 : 4;
      if (pos > end) throw new WireError(`${rules.name}: truncated field ${field}`);
    } else {
      // Groups (3, 4) are not used by OTLP; 6 and 7 do not exist.
      throw new WireError(`${rules.name}: invalid wire type ${wire} for field ${field}`);
    }
    const f = field < flags.length ? flags[field] : 0;
    if (f !== 0) {
      if (wire !== (f & WIRE_BITS) && !(wire === LEN && (f & PACKABLE) !== 0))
        throw new WireError(`${rules.name}: field ${field} has wire type ${wire}, expected ${f & WIRE_BITS}`);
      if ((f & SUB) !== 0) {
        if ((f & ITEM) !== 0) items++;
        // Most of a request is attributes: a plain one is done here, without walking its two messages.
        // Deeper down, the general walk reports the nesting limit.
        if ((f & KEY_VALUE) !== 0 && depth < MAX_DEPTH - 1 && isPlainAttribute(buf, words, base, pos, pos + len)) {
          pos += len;
          continue;
        }
        const sub = rules.subs[field]!;
        if (depth === MAX_DEPTH) throw new WireError(`${sub.name}: nested too deep`);
        stackRules[depth] = rules;
        stackEnds[depth] = end;
        stackSeenIds[depth] = seenIds;
        depth++;
        rules = sub;
        flags = sub.flags;
        end = pos + len;
        seenIds = 0;
        // The message's bytes are walked next; where they end, the walk comes back here.
        continue;
      }
      if ((f & UTF8) !== 0) {
        if (len > 0 && !isAsciiOrUtf8(buf, words, base, pos, pos + len))
          throw new WireError(`${rules.name}: field ${field} is not valid UTF-8`);
      } else if ((f & ID) !== 0) {
        if (len > MAX_ID_LENGTH || ((f >>> (ID_LENGTHS_SHIFT + len)) & 1) === 0) badIds = true;
        seenIds |= 1 << field;
      }
    }
    if (wire === LEN) pos += len;
  }
  return { items, badIds };
}

/**
 * Whether bytes [start, end) are a KeyValue that the general walk would accept without a
 * remark: a key (one-byte length), then a value (one-byte length) that ends the KeyValue and is
 * empty or holds only a string, bool, int or double, with valid UTF-8 strings. Anything else
 * (invalid bytes included) answers false and takes the general walk, which says what is wrong.
 */
function isPlainAttribute(buf: Uint8Array, words: Int32Array, base: number, start: number, end: number): boolean {
  if (end - start < 4 || buf[start] !== 0x0a) return false;
  const keyLength = buf[start + 1];
  const keyEnd = start + 2 + keyLength;
  if (keyLength > 0x7f || keyEnd + 2 > end || buf[keyEnd] !== 0x12) return false;
  const valueLength = buf[keyEnd + 1];
  const value = keyEnd + 2;
  if (valueLength > 0x7f || value + valueLength !== end) return false;
  if (valueLength !== 0) {
    const tag = buf[value];
    if (tag === 0x0a) {
      // string_value: its length must be what is left.
      if (valueLength < 2 || buf[value + 1] !== valueLength - 2) return false;
      if (valueLength > 2 && !isAsciiOrUtf8(buf, words, base, value + 2, end)) return false;
    } else if (tag === 0x18 || tag === 0x10) {
      // int_value, bool_value: one varint of at most 10 bytes that ends the value.
      if (valueLength < 2 || valueLength > 11 || buf[end - 1] > 0x7f) return false;
      for (let i = value + 1; i < end - 1; i++) if (buf[i] < 0x80) return false;
    } else if (tag !== 0x21 || valueLength !== 9) {
      // Not a double_value either.
      return false;
    }
  }
  return keyLength === 0 || isAsciiOrUtf8(buf, words, base, start + 2, keyEnd);
}

/**
 * Whether bytes [start, end) of `buf` (not empty) are valid UTF-8. Most strings the agents send
 * are ASCII: that is checked here, and the native check runs only for those that are not.
 * `words` are wordsOf(buf); `base` is buf.byteOffset. Kept small so that it is inlined.
 */
function isAsciiOrUtf8(buf: Uint8Array, words: Int32Array, base: number, start: number, end: number): boolean {
  const first = base + start;
  const last = base + end - 1;
  const firstWord = first >>> 2;
  const lastWord = last >>> 2;
  if (lastWord < words.length && end - start < NATIVE_FROM) {
    // Without branches on the string's length: -1 when it spans two or more words, 0 when one
    // word holds it (then that word takes both masks).
    const apart = (firstWord - lastWord) >> 31;
    const headMask = HEAD_MASKS[first & 3];
    const tailMask = TAIL_MASKS[last & 3];
    let high = (words[firstWord] & headMask & (tailMask | apart)) | (words[lastWord] & tailMask & (headMask | apart));
    for (let w = firstWord + 1; w < lastWord; w++) high |= words[w];
    if ((high & HIGH_BITS) === 0) return true;
  }
  return isUtf8Slice(buf, start, end);
}

/** The same check for long strings, ones no word covers the end of, and ones not ASCII. */
function isUtf8Slice(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < NATIVE_FROM) {
    // Ends in the bytes after the last whole word of the memory (or there are no words).
    let bits = 0;
    for (let i = start; i < end; i++) bits |= buf[i];
    if (bits < 0x80) return true;
  }
  return isUtf8(buf.subarray(start, end));
}
