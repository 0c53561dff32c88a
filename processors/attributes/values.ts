// Building, copying and converting AnyValues for the attribute actions. Every value
// these functions return is a fresh plain object: a protobuf-decoded AnyValue carries
// prototype defaults for its other oneof members, so a value is always replaced
// whole, never patched one member at a time.
import { createHmac } from 'node:crypto';
import Long from 'long';
import type { AnyValue, KeyValue } from '../../src/otlp/model';
import { anyValueKind } from '../../src/conditions/values';
import { int64Number, parseNumeric, stringOf } from '../../src/conditions';


export type ConvertedType = 'int' | 'double' | 'string' | 'bool';
export const CONVERTED_TYPES: readonly ConvertedType[] = ['int', 'double', 'string', 'bool'];

type Kind = 'stringValue' | 'intValue' | 'doubleValue' | 'boolValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';

/** The oneof member that is set, or undefined for an empty (or missing) AnyValue. */
export function kindOf(v: AnyValue | null | undefined): Kind | undefined {
  return v === null || v === undefined ? undefined : anyValueKind(v);
}

/** A deep copy as plain objects, so a copied attribute never shares structure with its source. */
export function cloneValue(v: AnyValue | null | undefined): AnyValue {
  switch (kindOf(v)) {
    case 'stringValue': return { stringValue: v!.stringValue };
    case 'intValue': {
      const x = v!.intValue!;
      return { intValue: typeof x === 'object' ? Long.fromBits(x.low, x.high, x.unsigned) : x };
    }
    case 'doubleValue': return { doubleValue: v!.doubleValue };
    case 'boolValue': return { boolValue: v!.boolValue };
    case 'bytesValue': return { bytesValue: Uint8Array.from(v!.bytesValue!) };
    case 'arrayValue': return { arrayValue: { values: (v!.arrayValue!.values ?? []).map((x) => cloneValue(x)) } };
    case 'kvlistValue':
      return { kvlistValue: { values: (v!.kvlistValue!.values ?? []).map((kv: KeyValue) => ({ key: kv.key, value: cloneValue(kv.value) })) } };
    default: return {};
  }
}

/** True when two values are the same scalar of the same kind (arrays, maps and bytes never compare equal). */
export function sameScalar(a: AnyValue | null | undefined, b: AnyValue): boolean {
  const k = kindOf(a);
  if (k === undefined || k !== kindOf(b)) return false;
  switch (k) {
    case 'stringValue': return a!.stringValue === b.stringValue;
    case 'boolValue': return a!.boolValue === b.boolValue;
    case 'doubleValue': return Object.is(a!.doubleValue, b.doubleValue);
    case 'intValue': return String(a!.intValue) === String(b.intValue);
    default: return false;
  }
}

const INT_RE = /^[-+]?\d+$/;
const TWO_63 = 2 ** 63;

/** An int64 AnyValue from a decimal integer string, or undefined when it is not one or is out of range. */
function intFromString(s: string): AnyValue | undefined {
  if (!INT_RE.test(s) || s.length > 40) return undefined;
  const n = Number(s);
  if (Number.isSafeInteger(n)) return { intValue: n };
  const digits = s.replace(/^\+/, '');
  const l = Long.fromString(digits, false, 10);
  // Long wraps silently on overflow: the round trip tells.
  return l.toString() === digits.replace(/^(-?)0+(?=\d)/, '$1') ? { intValue: l } : undefined;
}

function intFromDouble(d: number): AnyValue | undefined {
  if (!Number.isFinite(d)) return undefined;
  const t = Math.trunc(d);
  if (t >= TWO_63 || t < -TWO_63) return undefined;
  return { intValue: Number.isSafeInteger(t) ? t : Long.fromNumber(t) };
}

const TRUE_STRINGS = new Set(['1', 't', 'T', 'true', 'True', 'TRUE']);
const FALSE_STRINGS = new Set(['0', 'f', 'F', 'false', 'False', 'FALSE']);

/** Marker: the value already has the wanted type. */
export const UNCHANGED = Symbol('unchanged');

/**
 * The value converted to `to`: a new AnyValue, UNCHANGED when it already has that type,
 * or undefined when it cannot be converted (the caller keeps it and counts it).
 */
export function convertValue(v: AnyValue, to: ConvertedType): AnyValue | typeof UNCHANGED | undefined {
  const k = kindOf(v);
  if (k === undefined) return undefined;
  switch (to) {
    case 'int':
      switch (k) {
        case 'intValue': return UNCHANGED;
        case 'doubleValue': return intFromDouble(v.doubleValue!);
        case 'stringValue': return intFromString(v.stringValue!);
        case 'boolValue': return { intValue: v.boolValue ? 1 : 0 };
        default: return undefined;
      }
    case 'double':
      switch (k) {
        case 'doubleValue': return UNCHANGED;
        case 'intValue': return { doubleValue: int64Number(v.intValue) };
        case 'stringValue': {
          const n = parseNumeric(v.stringValue!);
          return Number.isNaN(n) ? undefined : { doubleValue: n };
        }
        case 'boolValue': return { doubleValue: v.boolValue ? 1 : 0 };
        default: return undefined;
      }
    case 'string':
      return k === 'stringValue' ? UNCHANGED : { stringValue: stringOf(v)! };
    case 'bool':
      switch (k) {
        case 'boolValue': return UNCHANGED;
        case 'stringValue': {
          const s = v.stringValue!;
          return TRUE_STRINGS.has(s) ? { boolValue: true } : FALSE_STRINGS.has(s) ? { boolValue: false } : undefined;
        }
        case 'intValue': return { boolValue: int64Number(v.intValue) !== 0 };
        case 'doubleValue': return Number.isNaN(v.doubleValue) ? undefined : { boolValue: v.doubleValue !== 0 };
        default: return undefined;
      }
  }
}

/**
 * `s` cut to its first `n` characters (Unicode code points, so a surrogate pair is
 * never split), or undefined when it is not longer than that.
 */
export function truncateString(s: string, n: number): string | undefined {
  if (s.length <= n) return undefined; // code points never outnumber UTF-16 units
  let i = 0;
  for (let count = 0; count < n && i < s.length; count++) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    i += pair ? 2 : 1;
  }
  return i < s.length ? s.slice(0, i) : undefined;
}

/**
 * A keyed hash (HMAC-SHA256, hex) of a value: strings as UTF-8, bytes as they are,
 * other values in their string form (arrays and maps as JSON). Undefined for an empty value.
 */
export function hasher(secret: Buffer): (v: AnyValue) => string | undefined {
  return (v) => {
    const k = kindOf(v);
    if (k === undefined) return undefined;
    const h = createHmac('sha256', secret);
    if (k === 'bytesValue') h.update(v.bytesValue!);
    else h.update(stringOf(v)!, 'utf8');
    return h.digest('hex');
  };
}
