// A protobuf wire-format walk that checks a request without building it: every
// known field has the wire type its declaration allows, every length fits, and
// nested messages are checked the same way. It counts the items (log records,
// spans, data points) and notices records whose trace or span ids have a wrong
// length. With it the receiver can accept, count and forward protobuf bytes
// without decoding them into objects; the model is built only if something reads it.
import * as protobuf from 'protobufjs';
import { isUtf8 } from 'node:buffer';
import { signalTypes, type Signal } from './schema';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** What a field of a message type accepts, by field number. */
interface FieldRule {
  wire: number;
  /** A repeated scalar that may also arrive packed (one LEN record). */
  packable: boolean;
  sub?: TypeRules;
  /** Counting: each occurrence of this field is one item. */
  item?: boolean;
  /** A string: must be valid UTF-8, as the decoder (and protobuf) requires. */
  utf8?: boolean;
}

interface TypeRules {
  name: string;
  fields: (FieldRule | undefined)[];
  /** Id fields to check, by field number: [allowed lengths]. */
  ids?: Map<number, number[]>;
  /** Ids that must be present (spans). */
  requiredIds?: number[];
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

function rulesFor(type: protobuf.Type): TypeRules {
  let r = rulesCache.get(type);
  if (r) return r;
  const name = type.fullName.replace(/^\./, '');
  r = { name, fields: [] };
  rulesCache.set(type, r); // before recursing: message types nest (AnyValue in ArrayValue in AnyValue)
  for (const f of type.fieldsArray) {
    const isMsg = f.resolvedType instanceof protobuf.Type;
    const rule: FieldRule = {
      wire: isMsg ? LEN : f.resolvedType instanceof protobuf.Enum ? VARINT : wireOf(f.type),
      packable: f.repeated && !isMsg && f.type !== 'string' && f.type !== 'bytes',
      item: ITEM_FIELDS.has(`${name}.${f.name}`),
      utf8: f.type === 'string',
    };
    if (isMsg) rule.sub = rulesFor(f.resolvedType as protobuf.Type);
    r.fields[f.id] = rule;
  }
  if (name === 'opentelemetry.proto.logs.v1.LogRecord') r.ids = new Map([[9, [0, 16]], [10, [0, 8]]]);
  if (name === 'opentelemetry.proto.trace.v1.Span') {
    r.ids = new Map([[1, [16]], [2, [8]], [4, [0, 8]]]);
    r.requiredIds = [1, 2];
  }
  return r;
}

export class WireError extends Error {}

export interface ScanResult {
  items: number;
  /** Some record has a trace or span id of a wrong length. */
  badIds: boolean;
}

/** Checks a protobuf export request of `signal`; throws WireError when it is malformed. */
export function scanRequest(signal: Signal, buf: Uint8Array): ScanResult {
  const res: ScanResult = { items: 0, badIds: false };
  scan(rulesFor(signalTypes[signal].request), buf, 0, buf.length, res, 0);
  return res;
}

function scan(rules: TypeRules, buf: Uint8Array, pos: number, end: number, res: ScanResult, depth: number): void {
  if (depth > 64) throw new WireError(`${rules.name}: nested too deep`);
  let seenRequired = 0;
  while (pos < end) {
    // Tag varint (field numbers fit in 29 bits: at most 5 bytes).
    let tag = 0;
    let shift = 0;
    let b: number;
    do {
      if (pos >= end) throw new WireError(`${rules.name}: truncated tag`);
      b = buf[pos++];
      tag |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (b & 0x80) throw new WireError(`${rules.name}: malformed tag`);
    tag >>>= 0;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new WireError(`${rules.name}: field number 0`);
    const rule = rules.fields[field];
    let len = 0;
    switch (wire) {
      case VARINT: {
        let n = 0;
        do {
          if (pos >= end) throw new WireError(`${rules.name}: truncated varint`);
          b = buf[pos++];
        } while (b & 0x80 && ++n < 10);
        if (b & 0x80) throw new WireError(`${rules.name}: varint too long`);
        break;
      }
      case FIXED64:
        pos += 8;
        break;
      case FIXED32:
        pos += 4;
        break;
      case LEN: {
        let l = 0;
        shift = 0;
        do {
          if (pos >= end) throw new WireError(`${rules.name}: truncated length`);
          b = buf[pos++];
          l += (b & 0x7f) * 2 ** shift;
          shift += 7;
        } while (b & 0x80 && shift < 35);
        if (b & 0x80) throw new WireError(`${rules.name}: malformed length`);
        len = l;
        if (pos + len > end) throw new WireError(`${rules.name}: field ${field} is longer than its message`);
        break;
      }
      default:
        // Groups (3, 4) are not used by OTLP; 6 and 7 do not exist.
        throw new WireError(`${rules.name}: invalid wire type ${wire} for field ${field}`);
    }
    if (pos > end) throw new WireError(`${rules.name}: truncated field ${field}`);
    if (rule !== undefined) {
      if (wire !== rule.wire && !(wire === LEN && rule.packable))
        throw new WireError(`${rules.name}: field ${field} has wire type ${wire}, expected ${rule.wire}`);
      if (rule.item) res.items++;
      if (rule.sub) scan(rule.sub, buf, pos, pos + len, res, depth + 1);
      else if (rule.utf8 && len > 0 && !isAsciiOrUtf8(buf, pos, pos + len))
        throw new WireError(`${rules.name}: field ${field} is not valid UTF-8`);
      if (rules.ids) {
        const allowed = rules.ids.get(field);
        if (allowed !== undefined) {
          if (!allowed.includes(len)) res.badIds = true;
          if (rules.requiredIds?.includes(field)) seenRequired |= 1 << field;
        }
      }
    }
    if (wire === LEN) pos += len;
  }
  if (rules.requiredIds && rules.requiredIds.some((f) => !(seenRequired & (1 << f)))) res.badIds = true;
}

/** Most strings the agents send are ASCII: check that in place and ask the native check only otherwise. */
function isAsciiOrUtf8(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (buf[i] & 0x80) return isUtf8(buf.subarray(i, end));
  }
  return true;
}
