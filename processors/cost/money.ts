// Exact money. A rate of R USD per million tokens is R * 10^6 pico-dollars per
// token, so a rate with at most 6 decimals is a whole number of pico-dollars per
// token and tokens x rate is an exact integer. Costs are BigInt pico-dollars from
// the price table to the event; they are rounded once, to nano-dollars, when written.

/** Pico-dollars per token of a rate given in USD per million tokens, or an error message. */
export function ratePicos(v: unknown): bigint | string {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return `expected a number, got ${v}`;
    // The shortest decimal that reads back as v: what the user typed for any rate with few digits.
    text = String(v);
  } else if (typeof v === 'string' && v.trim() !== '') {
    text = v.trim();
  } else {
    return `expected a number (USD per million tokens), got ${v === null ? 'null' : typeof v === 'object' ? 'a map or list' : JSON.stringify(v)}`;
  }
  const m = /^\+?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d{1,2}))?$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
    if (text.startsWith('-')) return `must not be negative, got ${text}`;
    return `expected a number (USD per million tokens), got ${JSON.stringify(text)}`;
  }
  const digits = BigInt((m[1] + (m[2] ?? '')) || '0');
  // value = digits * 10^-(decimals), in units of 10^-6 USD per million tokens = pico-dollars per token.
  const shift = 6 - ((m[2] ?? '').length - Number(m[3] ?? 0));
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  if (digits % div !== 0n) return `${text} has more than 6 decimals (finer than one pico-dollar per token)`;
  return digits / div;
}

/** Pico-dollars rounded half up to nano-dollars. */
export function picosToNanos(picos: bigint): bigint {
  return (picos + 500n) / 1000n;
}

/** The double written as cost_usd: the nearest double to the cost rounded to 1e-9 USD. */
export function picosToUsd(picos: bigint): number {
  return Number(picosToNanos(picos)) / 1e9;
}

/** Nano-dollars back from a cost_usd double (exact for any figure written by picosToUsd below ~9 million USD). */
export function usdToNanos(usd: number): bigint {
  return BigInt(Math.round(usd * 1e9));
}
