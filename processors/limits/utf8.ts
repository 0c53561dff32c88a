// UTF-8 sizes of JavaScript strings without encoding them when the answer is plain:
// a UTF-16 code unit takes 1 to 3 UTF-8 bytes (a surrogate pair, 2 units, takes 4),
// so length <= max/3 always fits and length > max never does.

export function fitsUtf8(s: string, max: number): boolean {
  if (s.length * 3 <= max) return true;
  if (s.length > max) return false;
  return Buffer.byteLength(s, 'utf8') <= max;
}

/** Cuts strings to at most `max` UTF-8 bytes, never inside a character; reuses one buffer. */
export class Utf8Cutter {
  private readonly buf: Uint8Array;
  private readonly enc = new TextEncoder();

  constructor(readonly max: number) {
    this.buf = new Uint8Array(max);
  }

  /** The cut string and the number of bytes removed, or undefined when `s` fits. */
  cut(s: string): { text: string; removed: number } | undefined {
    if (fitsUtf8(s, this.max)) return undefined;
    const { read, written } = this.enc.encodeInto(s, this.buf);
    return { text: s.slice(0, read), removed: Buffer.byteLength(s, 'utf8') - written };
  }
}
