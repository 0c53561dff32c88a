// The price table: rows of USD-per-million-token rates per model, checked once at
// start-up (in the config schema) and turned into exact pico-dollar rates. The
// same row format is read from the shipped config/prices.yaml, from a user's
// `prices_file`, and from inline `prices:`; every problem names its row.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import { ratePicos } from './money';

export type Provider = 'anthropic' | 'openai' | 'google';
const PROVIDERS: readonly Provider[] = ['anthropic', 'openai', 'google'];

/** Pico-dollars per token for each billable class, with absent rates already resolved. */
export interface Rates {
  input: bigint;
  cacheRead: bigint;
  cacheWrite: bigint;
  output: bigint;
  reasoning: bigint;
}

export interface PriceRow {
  id: string;
  provider: Provider;
  rates: Rates;
  /** Ascending by `above`: a request whose prompt is longer than `above` tokens is billed at `rates`. */
  tiers: { above: number; rates: Rates }[];
  source: string;
  date: string;
}

export type Path = (string | number)[];
export type Report = (path: Path, message: string) => void;

const RATE_KEYS = ['input', 'cache_read', 'cache_write', 'output', 'reasoning'] as const;
type RateKey = (typeof RATE_KEYS)[number];
const ROW_KEYS = ['provider', ...RATE_KEYS, 'tiers', 'source', 'date'];
const TIER_KEYS = ['above_tokens', ...RATE_KEYS];

const isMapValue = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

/** The given rates of one row or tier; reports bad values and returns undefined then. */
function checkRates(raw: Record<string, unknown>, path: Path, report: Report): Partial<Record<RateKey, bigint>> | undefined {
  const out: Partial<Record<RateKey, bigint>> = {};
  let ok = true;
  for (const k of RATE_KEYS) {
    if (raw[k] === undefined) continue;
    const r = ratePicos(raw[k]);
    if (typeof r === 'string') {
      report([...path, k], r);
      ok = false;
    } else out[k] = r;
  }
  return ok ? out : undefined;
}

function resolve(given: Partial<Record<RateKey, bigint>>): Rates {
  // Providers without a separate cache price bill those tokens as plain input; reasoning bills as output.
  return {
    input: given.input!,
    cacheRead: given.cache_read ?? given.input!,
    cacheWrite: given.cache_write ?? given.input!,
    output: given.output!,
    reasoning: given.reasoning ?? given.output!,
  };
}

function checkDate(v: unknown): string | undefined {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString().slice(0, 10);
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return undefined;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v ? v : undefined;
}

/** Checks one row (`path` is the row's own path) and returns it, or reports every problem and returns undefined. */
export function checkRow(id: string, raw: unknown, path: Path, report: Report): PriceRow | undefined {
  if (id.trim() === '') {
    report(path, 'a model id must not be empty');
    return undefined;
  }
  if (!isMapValue(raw)) {
    report(path, 'expected a map with provider, input, output, source and date');
    return undefined;
  }
  let ok = true;
  const bad = (p: Path, m: string) => {
    report(p, m);
    ok = false;
  };
  for (const k of Object.keys(raw)) if (!ROW_KEYS.includes(k)) bad([...path, k], `unknown key (known: ${ROW_KEYS.join(', ')})`);
  const provider = raw.provider;
  if (provider === undefined) bad([...path, 'provider'], `is required (one of ${PROVIDERS.join(', ')})`);
  else if (!PROVIDERS.includes(provider as Provider)) bad([...path, 'provider'], `expected one of ${PROVIDERS.join(', ')}, got ${JSON.stringify(provider)}`);
  for (const k of ['input', 'output'] as const) if (raw[k] === undefined) bad([...path, k], 'is required (USD per million tokens)');
  if (provider === 'anthropic') {
    // Claude Code always reports cache reads and writes, billed at their own rates.
    for (const k of ['cache_read', 'cache_write'] as const)
      if (raw[k] === undefined) bad([...path, k], 'is required for an anthropic row (USD per million tokens)');
  }
  const given = checkRates(raw, path, report);
  if (!given) ok = false;
  if (typeof raw.source !== 'string' || raw.source.trim() === '') bad([...path, 'source'], 'is required: where the figures come from (a price page, a contract, ...)');
  const date = checkDate(raw.date);
  if (!date) bad([...path, 'date'], `is required: the date the figures were read, as YYYY-MM-DD${raw.date === undefined ? '' : `, got ${JSON.stringify(raw.date)}`}`);

  const tiers: PriceRow['tiers'] = [];
  if (raw.tiers !== undefined) {
    if (!Array.isArray(raw.tiers)) bad([...path, 'tiers'], 'expected a list of {above_tokens, <rates>}');
    else {
      const baseKeys = RATE_KEYS.filter((k) => raw[k] !== undefined);
      let lastAbove = 0;
      raw.tiers.forEach((t: unknown, i: number) => {
        const tp = [...path, 'tiers', i];
        if (!isMapValue(t)) return bad(tp, 'expected a map with above_tokens and the rates of this tier');
        for (const k of Object.keys(t)) if (!TIER_KEYS.includes(k)) bad([...tp, k], `unknown key (known: ${TIER_KEYS.join(', ')})`);
        const above = t.above_tokens;
        if (typeof above !== 'number' || !Number.isSafeInteger(above) || above <= 0) {
          bad([...tp, 'above_tokens'], `expected a whole number of prompt tokens above 0, got ${above === undefined ? 'nothing' : JSON.stringify(above)}`);
        } else {
          if (above <= lastAbove) bad([...tp, 'above_tokens'], `tiers must be in increasing order of above_tokens (${above} follows ${lastAbove})`);
          lastAbove = above;
        }
        // A tier restates every rate of its row, so no class silently falls back to a base or input rate.
        const tierKeys = RATE_KEYS.filter((k) => t[k] !== undefined);
        const missing = baseKeys.filter((k) => !tierKeys.includes(k));
        const extra = tierKeys.filter((k) => !baseKeys.includes(k));
        if (missing.length) bad(tp, `a tier must set every rate its row sets; missing ${missing.join(', ')}`);
        if (extra.length) bad(tp, `a tier may only set rates its row sets; ${extra.join(', ')} not set on the row`);
        const tg = checkRates(t, tp, report);
        if (!tg) ok = false;
        if (ok && tg) tiers.push({ above: above as number, rates: resolve(tg) });
      });
    }
  }
  if (!ok || !given) return undefined;
  return { id, provider: provider as Provider, rates: resolve(given), tiers, source: (raw.source as string).trim(), date: date! };
}

/** Checks a map of model id to row; reports each bad row and returns the good ones only when all are good. */
export function checkRows(raw: unknown, path: Path, report: Report): PriceRow[] | undefined {
  if (raw === null || raw === undefined) return [];
  if (!isMapValue(raw)) {
    report(path, 'expected a map of model id to its prices');
    return undefined;
  }
  let ok = true;
  const rows: PriceRow[] = [];
  for (const [id, r] of Object.entries(raw)) {
    const row = checkRow(id, r, [...path, id], (p, m) => {
      ok = false;
      report(p, m);
    });
    if (row) rows.push(row);
  }
  return ok ? rows : undefined;
}

function formatPath(p: Path): string {
  let out = '';
  for (const x of p) out += typeof x === 'number' ? `[${x}]` : out === '' ? x : `.${x}`;
  return out;
}

function lineIn(doc: ReturnType<typeof parseDocument>, lines: LineCounter, p: Path): string {
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n), true) as Node | undefined;
    const range = node && (isMap(node) || isSeq(node) || isScalar(node)) ? node.range : undefined;
    if (range) return `:${lines.linePos(range[0]).line}`;
  }
  return '';
}

export interface LoadedTable {
  rows?: PriceRow[];
  /** Each problem as `FILE:LINE: models.ID.KEY: message`. */
  errors: string[];
}

/** Reads and checks a price table file (a map `models:` of rows). */
export function loadPriceFile(file: string): LoadedTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { errors: [`cannot read price table ${file}: ${(e as Error).message}`] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    return { errors: doc.errors.map((e) => `${file}:${lines.linePos(e.pos[0]).line}: YAML syntax: ${e.message.split('\n')[0]}`) };
  }
  const errors: string[] = [];
  const report: Report = (p, m) => errors.push(`${file}${lineIn(doc, lines, p)}: ${formatPath(p) || '(top level)'}: ${m}`);
  const top = doc.toJS({ maxAliasCount: 1000 }) as unknown;
  if (!isMapValue(top) || !isMapValue(top.models)) {
    report(isMapValue(top) ? ['models'] : [], 'a price table is a map with `models:`, a map of model id to its prices');
    return { errors };
  }
  for (const k of Object.keys(top)) if (k !== 'models') report([k], 'unknown key (a price table has only `models:`)');
  const rows = checkRows(top.models, ['models'], report);
  return errors.length ? { errors } : { rows, errors };
}

/** config/prices.yaml of this package, found by walking up from the compiled or source folder. */
export function shippedTablePath(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'config', 'prices.yaml');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`config/prices.yaml not found above ${__dirname}`);
}

let shipped: LoadedTable | undefined;

/** The shipped table, read and checked once per process. */
export function shippedTable(): LoadedTable {
  if (!shipped) {
    let file: string;
    try {
      file = shippedTablePath();
    } catch (e) {
      return { errors: [(e as Error).message] };
    }
    shipped = loadPriceFile(file);
  }
  return shipped;
}
