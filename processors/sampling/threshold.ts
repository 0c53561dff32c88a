// Consistent probability sampling as the OpenTelemetry TraceState probability
// sampling spec defines it. Randomness R and rejection threshold T are 56-bit
// unsigned integers; an item is kept when R >= T, and T = (1 - p) * 2^56 for a
// sampling probability p. Both travel as hex: `rv` is exactly 14 digits, `th` is
// T in 14 digits with trailing zeros removed ("0" means p = 1).
//
// Values are handled as 14-digit lower-case hex strings throughout: for strings of
// equal length that compares exactly like the integers, with no BigInt or float
// rounding on the hot path.

export const DIGITS = 14;
const TWO_56 = 1n << 56n;
const ZERO = '0'.repeat(DIGITS);

/**
 * The rejection threshold (14 hex digits) for probability p in [0, 1]:
 * T = 2^56 - round(p * 2^56). Undefined when p is so small that nothing can be kept.
 */
export function thresholdFor(p: number): string | undefined {
  // p * 2^56 only shifts the exponent, so the product is exact; rounding picks the
  // nearest representable keep-count, as the Collector's pkg/sampling does.
  const keep = BigInt(Math.round(Math.min(Math.max(p, 0), 1) * 2 ** 56));
  if (keep <= 0n) return undefined;
  return (TWO_56 - keep).toString(16).padStart(DIGITS, '0');
}

/** True when T is 0: everything is kept (p = 1). */
export function keepsAll(t: string): boolean {
  return t === ZERO;
}

/** The `th` encoding of a 14-digit threshold: trailing zeros removed, "0" for zero. */
export function encodeThreshold(t: string): string {
  let end = t.length;
  while (end > 0 && t.charCodeAt(end - 1) === 48) end--;
  return end === 0 ? '0' : t.slice(0, end);
}

/** A `th` value (1 to 14 hex digits, implicitly followed by zeros) as 14 digits; undefined when malformed. */
export function decodeThreshold(th: string): string | undefined {
  if (!/^[0-9a-f]{1,14}$/.test(th)) return undefined;
  return th.padEnd(DIGITS, '0');
}

/** An `rv` value (exactly 14 hex digits); undefined when malformed. */
export function decodeRandomness(rv: string): string | undefined {
  return /^[0-9a-f]{14}$/.test(rv) ? rv : undefined;
}

/** The sampling probability a threshold stands for: (2^56 - T) / 2^56. */
export function probabilityOf(t: string): number {
  return Number(TWO_56 - BigInt('0x' + t)) / 2 ** 56;
}

/** The larger of two thresholds (the stricter one); either may be undefined. */
export function maxThreshold(a: string, b: string | undefined): string {
  return b !== undefined && b > a ? b : a;
}

// ---------------------------------------------------------------------------------
// W3C tracestate with the OpenTelemetry `ot` member: `ot=th:c;rv:9b8233f7e3a151,vendor=x`.

export interface OtValues {
  /** The threshold as 14 digits, when `th` is present and well formed. */
  th?: string;
  /** The explicit randomness, when `rv` is present and well formed. */
  rv?: string;
}

/** Reads `th` and `rv` from the `ot` member of a tracestate. */
export function readOt(traceState: string | undefined): OtValues {
  const out: OtValues = {};
  if (!traceState || !traceState.includes('ot=')) return out;
  for (const member of traceState.split(',')) {
    const m = member.trim();
    if (!m.startsWith('ot=')) continue;
    for (const part of m.slice(3).split(';')) {
      const colon = part.indexOf(':');
      if (colon < 0) continue;
      const k = part.slice(0, colon);
      const v = part.slice(colon + 1);
      if (k === 'th') out.th = decodeThreshold(v);
      else if (k === 'rv') out.rv = decodeRandomness(v);
    }
    break;
  }
  return out;
}

/**
 * The tracestate with `ot` carrying threshold `t` (and `rv` when given), other `ot`
 * sub-keys kept. The updated `ot` member moves to the front, as W3C asks of a
 * modified member; the other members keep their order.
 */
export function writeOt(traceState: string | undefined, t: string, rv?: string): string {
  const parts = [`th:${encodeThreshold(t)}`];
  if (rv !== undefined) parts.push(`rv:${rv}`);
  const others: string[] = [];
  for (const member of (traceState ?? '').split(',')) {
    const m = member.trim();
    if (m === '') continue;
    if (!m.startsWith('ot=')) {
      others.push(m);
      continue;
    }
    for (const part of m.slice(3).split(';')) {
      if (part === '' || part.startsWith('th:') || (rv !== undefined && part.startsWith('rv:'))) continue;
      parts.push(part);
    }
  }
  return ['ot=' + parts.join(';'), ...others].join(',');
}
