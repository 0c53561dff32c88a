// Finds the price row for a model id as an agent reports it. Exact id first, then
// normalized forms: no provider prefix (`models/`, `openai/`), no context-variant
// suffix (Claude Code's `[1m]`), lower case, and then no date suffix
// (`-20251001`, `-2025-08-07`; Vertex's `@20250929` reads as `-20250929`). Never a prefix match: a model that
// is not in the table in one of these forms gets no price.
import type { PriceRow } from './prices';

export interface PriceMatch {
  row: PriceRow;
  /** The id carried Claude Code's `[1m]` marker: the request ran on the 1M-context variant. */
  longContext: boolean;
}

const CONTEXT_SUFFIX = /\[[^\]]*\]$/;
const LONG_CONTEXT = /\[1m\]$/i;
const VERTEX_DATE = /@(20\d{6})$/;
const DATE_SUFFIX = /(?:-|@)(?:20\d{6}|20\d{2}-\d{2}-\d{2})$/;

/** Lower case, without provider prefix and context-variant suffix. */
export function normalizeModel(id: string): string {
  let s = id.trim().replace(CONTEXT_SUFFIX, '');
  const slash = s.lastIndexOf('/');
  if (slash >= 0) s = s.slice(slash + 1);
  // Vertex AI writes snapshots as claude-sonnet-4-5@20250929, Anthropic as claude-sonnet-4-5-20250929.
  return s.toLowerCase().replace(VERTEX_DATE, '-$1');
}

export function stripDate(id: string): string {
  return id.replace(DATE_SUFFIX, '');
}

/** Lookups are cached per distinct id; past this many ids the cache starts over, so hostile ids cannot grow it. */
const CACHE_LIMIT = 4096;

export class PriceIndex {
  private readonly exact = new Map<string, PriceRow>();
  private readonly normalized = new Map<string, PriceRow>();
  private readonly dateless = new Map<string, PriceRow>();
  private readonly cache = new Map<string, PriceMatch | null>();

  constructor(rows: Iterable<PriceRow>) {
    const dated: PriceRow[] = [];
    for (const row of rows) {
      this.exact.set(row.id, row);
      const n = normalizeModel(row.id);
      if (!this.normalized.has(n)) this.normalized.set(n, row);
      if (stripDate(n) === n) {
        if (!this.dateless.has(n)) this.dateless.set(n, row);
      } else dated.push(row);
    }
    // An undated row speaks for its dated snapshots; a dated row only fills a gap.
    for (const row of dated) {
      const d = stripDate(normalizeModel(row.id));
      if (!this.dateless.has(d)) this.dateless.set(d, row);
    }
  }

  get size(): number {
    return this.exact.size;
  }

  lookup(model: string): PriceMatch | undefined {
    const hit = this.cache.get(model);
    if (hit !== undefined) return hit ?? undefined;
    const found = this.find(model);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(model, found ?? null);
    return found;
  }

  private find(model: string): PriceMatch | undefined {
    const longContext = LONG_CONTEXT.test(model.trim());
    const exact = this.exact.get(model);
    if (exact) return { row: exact, longContext };
    const n = normalizeModel(model);
    if (n === '') return undefined;
    const row = this.normalized.get(n) ?? this.dateless.get(stripDate(n));
    return row ? { row, longContext } : undefined;
  }
}
