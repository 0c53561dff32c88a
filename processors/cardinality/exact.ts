// Exact sums of metric values. Merged series must add up to exactly what came in:
// int64 values are summed as BigInt, and doubles as exact binary fractions (every
// finite double is an integer multiple of a power of two, at least 2^-1074), so the
// order in which points arrive never changes a total and a merged double is the
// correctly rounded sum. Subtraction is exact too, which lets cumulative state move
// by (new - old). A fraction is kept in units of the largest power of two its terms
// need, not always 2^-1074: 0.1 then takes 56 bits rather than 1,100.
import Long from 'long';
import type { Int64 } from '../../src/otlp/model';

const view = new DataView(new ArrayBuffer(8));

/** Trailing zero bits of a non-zero 32-bit value. */
const ctz32 = (x: number) => 31 - Math.clz32(x & -x);

/** A finite non-integer double as m * 2^-scale, with m odd: [m, scale]. */
function binaryFraction(v: number): [bigint, number] {
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  const top = exp === 0 ? hi & 0xfffff : (hi & 0xfffff) | 0x100000;
  let scale = exp === 0 ? 1074 : 1075 - exp;
  let tz = lo !== 0 ? ctz32(lo) : 32 + ctz32(top);
  if (tz > scale) tz = scale;
  scale -= tz;
  const m = ((BigInt(top) << 32n) | BigInt(lo)) >> BigInt(tz);
  return [hi >>> 31 ? -m : m, scale];
}

function bitLength(x: bigint): number {
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + 32 - Math.clz32(parseInt(hex[0], 16));
}

/** The double nearest to x * 2^-scale (ties to even; scale <= 1074), as IEEE addition would round an exact sum. */
function unscale(x: bigint, scale: number): number {
  if (x === 0n) return 0;
  const neg = x < 0n;
  if (neg) x = -x;
  const len = bitLength(x);
  let r: number;
  if (len <= 64) {
    // Number() rounds once to 53 bits; scaling by a power of two is then exact (the result is normal or fits as subnormal).
    r = Number(x) * 2 ** -scale;
  } else {
    const shift = len - 64;
    let top = x >> BigInt(shift);
    // A sticky bit below the rounding position keeps round-half-even correct.
    if (top << BigInt(shift) !== x) top |= 1n;
    r = Number(top) * 2 ** (shift - scale);
  }
  return neg ? -r : r;
}

const TWO_32 = 4294967296n;

// The points of a request nearly all carry the same one or two timestamps: the last
// two conversions are remembered, so that state kept per stream shares their BigInts.
let memoA: { low: number; high: number; unsigned: boolean; big: bigint } = { low: 0, high: 0, unsigned: false, big: 0n };
let memoB = { ...memoA };

function bigOfLong(l: Long): bigint {
  const low = l.low;
  const high = l.high;
  const unsigned = l.unsigned;
  if (memoA.low === low && memoA.high === high && memoA.unsigned === unsigned) return memoA.big;
  if (memoB.low === low && memoB.high === high && memoB.unsigned === unsigned) {
    const m = memoB;
    memoB = memoA;
    memoA = m;
    return m.big;
  }
  const big = (unsigned ? BigInt(high >>> 0) : BigInt(high | 0)) * TWO_32 + BigInt(low >>> 0);
  // Reuse the older slot's object rather than allocate one per conversion.
  const m = memoB;
  m.low = low;
  m.high = high;
  m.unsigned = unsigned;
  m.big = big;
  memoB = memoA;
  memoA = m;
  return big;
}

let strA = '0';
let strBigA = 0n;
let strB = '0';
let strBigB = 0n;

function bigOfString(x: string): bigint {
  if (x === strA) return strBigA;
  if (x === strB) return strBigB;
  const big = /^-?\d+$/.test(x) ? BigInt(x) : 0n;
  strB = strA;
  strBigB = strBigA;
  strA = x;
  strBigA = big;
  return big;
}

/** An int64 from the model (Long, number or decimal string) as a BigInt. */
export function bigOf(x: Int64 | null | undefined): bigint {
  if (x === null || x === undefined) return 0n;
  if (typeof x === 'number') return Number.isInteger(x) ? BigInt(x) : BigInt(Math.trunc(x));
  if (typeof x === 'string') return bigOfString(x);
  return bigOfLong(x as Long);
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
  /** Sum of the fractional doubles, in units of 2^-scale. */
  private frac = 0n;
  private scale = 0;
  /** True once a double was added: the result is written as asDouble. */
  isDouble = false;
  private special: number | undefined = undefined;

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
    e.scale = this.scale;
    e.isDouble = this.isDouble;
    e.special = this.special;
    return e;
  }

  addInt(v: bigint): void {
    this.ints += v;
  }

  /** Adds m * 2^-scale to the fraction, at the finer of the two units. */
  private addFrac(m: bigint, scale: number): void {
    if (this.frac === 0n) {
      this.frac = m;
      this.scale = scale;
      return;
    }
    if (scale > this.scale) {
      this.frac <<= BigInt(scale - this.scale);
      this.scale = scale;
    } else if (scale < this.scale) {
      m <<= BigInt(this.scale - scale);
    }
    this.frac += m;
  }

  addDouble(v: number): void {
    this.isDouble = true;
    if (!Number.isFinite(v)) {
      this.special = this.special === undefined ? v : this.special + v;
    } else if (Number.isInteger(v)) {
      this.ints += BigInt(v);
    } else {
      const [m, scale] = binaryFraction(v);
      this.addFrac(m, scale);
    }
  }

  // Adding zero would still allocate a new BigInt: running totals of ints keep sharing 0n.
  add(o: Exact): void {
    if (o.ints !== 0n) this.ints += o.ints;
    if (o.frac !== 0n) this.addFrac(o.frac, o.scale);
    this.isDouble ||= o.isDouble;
    if (o.special !== undefined) this.special = this.special === undefined ? o.special : this.special + o.special;
  }

  sub(o: Exact): void {
    if (o.ints !== 0n) this.ints -= o.ints;
    if (o.frac !== 0n) this.addFrac(-o.frac, o.scale);
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
    const scale = Math.max(this.scale, o.scale);
    const d = ((this.ints - o.ints) << BigInt(scale)) + (this.frac << BigInt(scale - this.scale)) - (o.frac << BigInt(scale - o.scale));
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
    return unscale((this.ints << BigInt(this.scale)) + this.frac, this.scale);
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
