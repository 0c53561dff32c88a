// The cost of one request in exact pico-dollars.
import type { PriceMatch } from './match';
import type { Rates } from './prices';
import type { Usage } from './usage';

/**
 * The rates a request pays. A tier prices the whole request once its prompt is longer than the
 * tier's threshold (Gemini 2.5 Pro, OpenAI's long-context models). Anthropic's long-context rates
 * apply only on the 1M-context variant, which Claude Code names with `[1m]` on its metrics but not
 * on its events, so events are priced at the standard rates.
 */
export function ratesFor(u: Usage, m: PriceMatch): Rates {
  const row = m.row;
  let rates = row.rates;
  if (row.tiers.length === 0 || (row.provider === 'anthropic' && !m.longContext)) return rates;
  for (const t of row.tiers) if (u.prompt > BigInt(t.above)) rates = t.rates;
  return rates;
}

export function costPicos(u: Usage, m: PriceMatch): bigint {
  const r = ratesFor(u, m);
  return u.input * r.input + u.cacheRead * r.cacheRead + u.cacheWrite * r.cacheWrite + (u.output - u.reasoning) * r.output + u.reasoning * r.reasoning;
}
