// Reading OTLP values as plain JavaScript values, for conditions and processors.
//
// The model's AnyValue is a protobufjs message (decoded or built by the JSON codec)
// or a plain object. A protobufjs message carries every oneof member's default on
// its prototype (stringValue '', intValue Long(0), boolValue false...), so the
// member that is set is found with own-property checks, never with `!== undefined`.
import type { AnyValue, Int64, KeyValue, LogRecord } from '../otlp/model';

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The scalar view of a value that conditions compare: a string, a number, a boolean,
 * a decimal string for an int64 beyond 2^53, `null` for a present key without a value
 * (an empty AnyValue `{}`), the AnyValue itself for an array, kvlist or bytes value
 * (which no scalar comparison matches), or `undefined` for an absent key.
 */
export type Scalar = string | number | boolean | null | undefined | AnyValue;

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
  toString(radix?: number): string;
}

const TWO_32 = 4294967296;

/** An int64 as a number when it is exactly representable, else as its decimal string. */
export function int64Value(x: Int64 | null | undefined): number | string | undefined {
  if (typeof x === 'number') return x;
  if (typeof x === 'string') {
    const n = Number(x);
    return Number.isSafeInteger(n) ? n : x;
  }
  if (x === null || x === undefined) return undefined;
  const l = x as unknown as LongLike;
  const n = l.unsigned ? (l.high >>> 0) * TWO_32 + (l.low >>> 0) : l.high * TWO_32 + (l.low >>> 0);
  return Number.isSafeInteger(n) ? n : l.toString(10);
}

/** An int64 as a number (approximate beyond 2^53), or NaN. */
export function int64Number(x: Int64 | null | undefined): number {
  if (typeof x === 'number') return x;
  if (typeof x === 'string') return parseNumeric(x);
  if (x === null || x === undefined) return NaN;
  const l = x as unknown as LongLike;
  return l.unsigned ? (l.high >>> 0) * TWO_32 + (l.low >>> 0) : l.high * TWO_32 + (l.low >>> 0);
}

const NUMERIC_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A decimal number written as a string ("21", "-1.5", "2e3"), or NaN. No hex, no blanks, no "Infinity". */
export function parseNumeric(s: string): number {
  return s.length > 0 && s.length < 400 && NUMERIC_RE.test(s) ? Number(s) : NaN;
}

/** Which member of the AnyValue oneof is set, or undefined for an empty AnyValue. */
export function anyValueKind(
  v: AnyValue,
): 'stringValue' | 'intValue' | 'doubleValue' | 'boolValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue' | undefined {
  if (hasOwn.call(v, 'stringValue') && v.stringValue != null) return 'stringValue';
  if (hasOwn.call(v, 'intValue') && v.intValue != null) return 'intValue';
  if (hasOwn.call(v, 'doubleValue') && v.doubleValue != null) return 'doubleValue';
  if (hasOwn.call(v, 'boolValue') && v.boolValue != null) return 'boolValue';
  if (hasOwn.call(v, 'arrayValue') && v.arrayValue != null) return 'arrayValue';
  if (hasOwn.call(v, 'kvlistValue') && v.kvlistValue != null) return 'kvlistValue';
  if (hasOwn.call(v, 'bytesValue') && v.bytesValue != null) return 'bytesValue';
  return undefined;
}

/** The scalar view of an AnyValue (see Scalar). Allocates nothing except for int64 beyond 2^53. */
export function scalarOf(v: AnyValue | null | undefined): Scalar {
  if (v === undefined) return undefined;
  if (v === null) return null;
  switch (anyValueKind(v)) {
    case 'stringValue': return v.stringValue;
    case 'intValue': return int64Value(v.intValue);
    case 'doubleValue': return v.doubleValue;
    case 'boolValue': return v.boolValue;
    case undefined: return null;
    default: return v;
  }
}

/** An AnyValue as a plain JS value: arrays and kvlists become arrays and objects, bytes stay a Uint8Array. */
export function plainValue(v: AnyValue | null | undefined): unknown {
  if (v === undefined) return undefined;
  if (v === null) return null;
  switch (anyValueKind(v)) {
    case 'stringValue': return v.stringValue;
    case 'intValue': return int64Value(v.intValue);
    case 'doubleValue': return v.doubleValue;
    case 'boolValue': return v.boolValue;
    case 'arrayValue': return (v.arrayValue!.values ?? []).map((x) => plainValue(x ?? null));
    case 'kvlistValue': {
      const out: Record<string, unknown> = {};
      for (const kv of v.kvlistValue!.values ?? []) out[kv.key] = plainValue(kv.value ?? null);
      return out;
    }
    case 'bytesValue': return v.bytesValue;
    default: return null;
  }
}

/** An AnyValue as a string: strings as they are, numbers and booleans in their usual form, arrays and kvlists as JSON, bytes as base64. */
export function stringOf(v: AnyValue | null | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  switch (anyValueKind(v)) {
    case 'stringValue': return v.stringValue;
    case 'intValue': return String(int64Value(v.intValue));
    case 'doubleValue': return String(v.doubleValue);
    case 'boolValue': return v.boolValue ? 'true' : 'false';
    case 'bytesValue': return Buffer.from(v.bytesValue!).toString('base64');
    case 'arrayValue':
    case 'kvlistValue':
      return JSON.stringify(plainValue(v), (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x));
    default: return undefined;
  }
}

/**
 * The KeyValue's value for `key`: the AnyValue, `null` when the key is present without
 * a value, `undefined` when the key is absent. A linear scan; the first match wins.
 */
export function findAttribute(attrs: KeyValue[] | undefined | null, key: string): AnyValue | null | undefined {
  if (!attrs) return undefined;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i];
    if (kv.key === key) return kv.value ?? null;
  }
  return undefined;
}

/**
 * Reads an attribute as a plain JS value: string, number, boolean, a decimal string for
 * an int64 beyond 2^53, an array or object for array/kvlist values, a Uint8Array for bytes,
 * `null` when the key is present with an empty value, `undefined` when the key is absent.
 */
export function attributeValue(attrs: KeyValue[] | undefined, key: string): unknown {
  return plainValue(findAttribute(attrs, key));
}

/**
 * The agent event name of a log record. All three agents put it in the attribute
 * `event.name` (Claude Code bare, `tool_decision`; Codex and Gemini CLI prefixed); Codex
 * also fills LogRecord.eventName, but with a source location ("event otel/src/...rs:803"),
 * so the attribute wins when it holds a non-empty string and LogRecord.eventName is the fallback.
 */
export function eventNameOf(log: LogRecord): string | undefined {
  const attrs = log.attributes;
  if (attrs) {
    for (let i = 0; i < attrs.length; i++) {
      const kv = attrs[i];
      if (kv.key === 'event.name') {
        const v = kv.value;
        if (v && hasOwn.call(v, 'stringValue') && v.stringValue) return v.stringValue;
        break;
      }
    }
  }
  return log.eventName || undefined;
}
