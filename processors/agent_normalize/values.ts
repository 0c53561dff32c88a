// Value conversions of agent_normalize: numbers that arrive as strings, and times
// that arrive as ISO text. Each returns undefined when it leaves the value alone.
import Long from 'long';
import type { AnyValue, Int64 } from '../../src/otlp/model';
import { int64Number, parseNumeric } from '../../src/conditions';

export type NumberKind = 'int' | 'double' | 'bool';

const hasOwn = Object.prototype.hasOwnProperty;
const INT_RE = /^-?\d+$/;
const BOOL_RE = /^(?:true|false)$/i;
const INT64_MAX = Long.MAX_VALUE;
const INT64_MIN = Long.MIN_VALUE;

/** The string held by an AnyValue whose set member is stringValue, else undefined. */
export function ownString(v: AnyValue | null | undefined): string | undefined {
  return v && hasOwn.call(v, 'stringValue') && typeof v.stringValue === 'string' ? v.stringValue : undefined;
}

/**
 * The number or boolean a string spells, as the AnyValue to store, or undefined when it
 * spells none. An `int` key holding a fraction ("12.5") becomes a double rather than
 * losing the fraction; an integer beyond 2^53 becomes an exact int64 (Long).
 */
export function convertString(s: string, kind: NumberKind): AnyValue | undefined {
  if (kind === 'bool') return BOOL_RE.test(s) ? { boolValue: s.toLowerCase() === 'true' } : undefined;
  if (kind === 'int' && INT_RE.test(s)) {
    const n = Number(s);
    if (Number.isSafeInteger(n)) return { intValue: n };
    const l = Long.fromString(s, false, 10);
    // Long wraps silently; outside int64 the text stays as it is.
    if (l.greaterThan(INT64_MAX) || l.lessThan(INT64_MIN) || l.toString() !== s.replace(/^(-?)0+(?=\d)/, '$1')) return undefined;
    return { intValue: l };
  }
  const d = parseNumeric(s);
  return Number.isFinite(d) ? { doubleValue: d } : undefined;
}

/** True for an absent or zero int64 (protobuf cannot tell them apart). */
export function isZeroTime(t: Int64 | null | undefined): boolean {
  if (t === undefined || t === null) return true;
  const n = int64Number(t);
  return n === 0 || Number.isNaN(n);
}

const ISO_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9})\d*)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Nanoseconds since the epoch of an RFC 3339 time ("2026-11-23T16:11:20.270Z"), keeping
 * sub-millisecond digits that Date.parse would drop, as an unsigned Long; undefined when
 * the text is not such a time or lies before 1970.
 */
export function isoToUnixNano(s: string): Long | undefined {
  const m = ISO_RE.exec(s);
  if (!m) return undefined;
  const zone = m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3].toUpperCase();
  const ms = Date.parse(`${m[1]}${zone}`);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return Long.fromString((BigInt(ms) * 1_000_000n + frac).toString(), true, 10);
}
