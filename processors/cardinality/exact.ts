// Exact sums of metric values. Merged series must add up to exactly what came in:
// int64 values are summed as BigInt, and doubles as exact binary fractions (every
// finite double is an integer multiple of 2^-1074), so the order in which points
// arrive never changes a total and a merged double is the correctly rounded sum.
// Subtraction is exact too, which lets cumulative state move by (new - old).
import Long from 'long';
import type { Int64 } from '../../src/otlp/model';

const SCALE = 1074n;
const view = new DataView(new ArrayBuffer(8));

/** A finite double as an integer count of 2^-1074. */
function scaledDouble(v: number): bigint {
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (exp !== 0) m = (m | (1n << 52n)) << BigInt(exp - 1);
  return hi >>> 31 ? -m : m;
}

function bitLength(x: bigint): number {
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + 32 - Math.clz32(parseInt(hex[0], 16));
}

/** The double nearest to x * 2^-1074 (ties to even), as IEEE addition would round an exact sum. */
function unscale(x: bigint): number {
  if (x === 0n) return 0;
  const neg = x < 0n;
  if (neg) x = -x;
  const len = bitLength(x);
  let r: number;
  if (len <= 64) {
    // Number() rounds once to 53 bits; scaling by a power of two is then exact (the result is normal or fits as subnormal).
    r = Number(x) * 2 ** -1074;
  } else {
    const shift = len - 64;
    let top = x >> BigInt(shift);
    // A sticky bit below the rounding position keeps round-half-even correct.
    if (top << BigInt(shift) !== x) top |= 1n;
    r = Number(top) * 2 ** (shift - 1074);
  }
  return neg ? -r : r;
}

const TWO_32 = 4294967296n;

/** An int64 from the model (Long, number or decimal string) as a BigInt. */
export function bigOf(x: Int64 | null | undefined): bigint {
  if (x === null || x === undefined) return 0n;
  if (typeof x === 'number') return Number.isInteger(x) ? BigInt(x) : BigInt(Math.trunc(x));
  if (typeof x === 'string') return /^-?\d+$/.test(x) ? BigInt(x) : 0n;
  const l = x as Long;
  const low = BigInt(l.low >>> 0);
  const high = l.unsigned ? BigInt(l.high >>> 0) : BigInt(l.high | 0);
  return high * TWO_32 + low;
}

/** A BigInt as a model int64: a plain number when exact, else a Long. */
export function int64Of(b: bigint, unsigned = false): Int64 {
  if (b >= -9007199254740991n && b <= 9007199254740991n) return Number(b);
  const bits = BigInt.asUintN(64, b);
  return Long.fromBits(Number(bits & 0xffffffffn) | 0, Number(bits >> 32n) | 0, unsigned && b >= 0n);
}

/**
 * A running exact total of ints and/or doubles. The result is an int while only
 * ints were added; once a double is added it is a double (the correctly rounded
 * exact sum). NaN and infinities are sticky, as in float arithmetic.
 */
export class Exact {
  /** Sum of the integer inputs (ints, and doubles that hold an integer). */
  private ints = 0n;
  /** Sum of the fractional doubles, in units of 2^-1074. */
  private frac = 0n;
  /** True once a double was added: the result is written as asDouble. */
  isDouble = false;
  private special: number | undefined;

  static ofInt(v: bigint): Exact {
    const e = new Exact();
    e.ints = v;
    return e;
  }

  static ofDouble(v: number): Exact {
    const e = new Exact();
    e.addDouble(v);
    return e;
  }

  clone(): Exact {
    const e = new Exact();
    e.ints = this.ints;
    e.frac = this.frac;
    e.isDouble = this.isDouble;
    e.special = this.special;
    return e;
  }

  addInt(v: bigint): void {
    this.ints += v;
  }

  addDouble(v: number): void {
    this.isDouble = true;
    if (!Number.isFinite(v)) {
      this.special = this.special === undefined ? v : this.special + v;
    } else if (Number.isInteger(v)) {
      this.ints += BigInt(v);
    } else {
      this.frac += scaledDouble(v);
    }
  }

  add(o: Exact): void {
    this.ints += o.ints;
    this.frac += o.frac;
    this.isDouble ||= o.isDouble;
    if (o.special !== undefined) this.special = this.special === undefined ? o.special : this.special + o.special;
  }

  sub(o: Exact): void {
    this.ints -= o.ints;
    this.frac -= o.frac;
    this.isDouble ||= o.isDouble;
    if (o.special !== undefined) this.special = this.special === undefined ? -o.special : this.special - o.special;
  }

  /** -1, 0 or 1 as this compares with o (NaN compares as equal, infinities by sign). */
  compare(o: Exact): number {
    if (this.special !== undefined || o.special !== undefined) {
      const a = this.toNumber();
      const b = o.toNumber();
      return a < b ? -1 : a > b ? 1 : 0;
    }
    const d = ((this.ints - o.ints) << SCALE) + (this.frac - o.frac);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }

  isZero(): boolean {
    return this.special === undefined && this.ints === 0n && this.frac === 0n;
  }

  /** The exact integer total (only meaningful while !isDouble). */
  toBigInt(): bigint {
    return this.ints;
  }

  toNumber(): number {
    if (this.special !== undefined) return this.special;
    if (this.frac === 0n) return Number(this.ints);
    return unscale((this.ints << SCALE) + this.frac);
  }

  /** Sets asInt or asDouble on a new data point. */
  writeTo(p: { asInt?: Int64; asDouble?: number }): void {
    if (this.isDouble) p.asDouble = this.toNumber();
    else p.asInt = int64Of(this.ints);
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The value of a NumberDataPoint, or undefined when it has none. */
export function numberValueOf(p: { asInt?: Int64; asDouble?: number }): Exact | undefined {
  if (hasOwn.call(p, 'asDouble') && p.asDouble != null) return Exact.ofDouble(p.asDouble);
  if (hasOwn.call(p, 'asInt') && p.asInt != null) return Exact.ofInt(bigOf(p.asInt));
  return undefined;
}
