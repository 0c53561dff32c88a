// The price table: exact rates, row checks that name the row, the shipped table,
// file and inline overrides through the processor's config schema.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ratePicos, picosToUsd, picosToNanos, usdToNanos } from './money';
import { checkRows, loadPriceFile, shippedTable, type PriceRow } from './prices';
import { costProcessor } from './index';
import { loadConfigText } from '../../src/config/load';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentrelay-prices-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function issuesOf(rows: unknown): { rows?: PriceRow[]; issues: string[] } {
  const issues: string[] = [];
  const r = checkRows(rows, ['prices'], (p, m) => issues.push(`${p.join('.')}: ${m}`));
  return { rows: r, issues };
}

const row = (extra: Record<string, unknown> = {}) => ({ provider: 'openai', input: 1.25, output: 10, source: 'test', date: '2026-11-23', ...extra });

test('a rate in USD per million tokens is a whole number of pico-dollars per token', () => {
  assert.equal(ratePicos(1.25), 1_250_000n);
  assert.equal(ratePicos(0.125), 125_000n);
  assert.equal(ratePicos(0.03), 30_000n);
  assert.equal(ratePicos(3.125), 3_125_000n);
  assert.equal(ratePicos('0.000001'), 1n);
  assert.equal(ratePicos(1e-6), 1n);
  assert.equal(ratePicos('2.5e1'), 25_000_000n);
  assert.equal(ratePicos(0), 0n);
  assert.match(String(ratePicos('0.0000001')), /more than 6 decimals/);
  assert.match(String(ratePicos(-1)), /must not be negative/);
  assert.match(String(ratePicos('cheap')), /expected a number/);
  assert.match(String(ratePicos(null)), /expected a number/);
});

test('costs round once, half up, to nano-dollars, and read back exactly', () => {
  assert.equal(picosToNanos(715_900_000n), 715_900n);
  assert.equal(picosToNanos(1_499n), 1n);
  assert.equal(picosToNanos(1_500n), 2n);
  assert.equal(picosToUsd(715_900_000n), 0.0007159);
  assert.equal(picosToUsd(33_315_000_000n), 0.033315);
  for (const nanos of [1n, 715_900n, 1_446_250n, 123_456_789_012n, 4_000_000_000_000_000n]) {
    assert.equal(usdToNanos(picosToUsd(nanos * 1000n)), nanos);
  }
});

test('the shipped table loads, and its rows carry source and date', () => {
  const t = shippedTable();
  assert.deepEqual(t.errors, []);
  const byId = new Map(t.rows!.map((r) => [r.id, r]));
  for (const id of ['claude-opus-4-8', 'claude-haiku-4-5-20251001', 'gpt-5-codex', 'gemini-2.5-flash', 'gemini-2.5-pro']) assert.ok(byId.has(id), id);
  for (const r of t.rows!) {
    assert.match(r.source, /^LiteLLM 00035b69 /, r.id);
    assert.equal(r.date, '2026-11-23', r.id);
  }
  const pro = byId.get('gemini-2.5-pro')!;
  assert.equal(pro.tiers.length, 1);
  assert.equal(pro.tiers[0].above, 200000);
  assert.equal(pro.tiers[0].rates.input, 2_500_000n);
  // Absent rates resolve: no cache-write price bills as input, reasoning as output.
  assert.equal(byId.get('gpt-5-codex')!.rates.cacheWrite, 1_250_000n);
  assert.equal(byId.get('gpt-5-codex')!.rates.reasoning, 10_000_000n);
  assert.equal(byId.get('gpt-5-pro')!.rates.cacheRead, 15_000_000n);
});

test('every problem of a row is reported with the row and key', () => {
  const r = issuesOf({
    'gpt-x': row({ input: 'abc', output: undefined, cached_input: 1 }),
    'claude-x': row({ provider: 'anthropic', cache_read: 0.3 }),
    'gem-x': row({ provider: 'gcp', date: 'yesterday', source: '' }),
    'tiered': row({ cache_read: 0.125, tiers: [{ above_tokens: 200000, input: 2.5, output: 15 }, { above_tokens: 100, input: 3, output: 20, cache_read: 0.3 }] }),
  });
  assert.equal(r.rows, undefined);
  const text = r.issues.join('\n');
  assert.match(text, /^prices\.gpt-x\.input: expected a number/m);
  assert.match(text, /^prices\.gpt-x\.output: is required/m);
  assert.match(text, /^prices\.gpt-x\.cached_input: unknown key/m);
  assert.match(text, /^prices\.claude-x\.cache_write: is required for an anthropic row/m);
  assert.match(text, /^prices\.gem-x\.provider: expected one of anthropic, openai, google, got "gcp"/m);
  assert.match(text, /^prices\.gem-x\.date: is required: .*YYYY-MM-DD, got "yesterday"/m);
  assert.match(text, /^prices\.gem-x\.source: is required/m);
  assert.match(text, /^prices\.tiered\.tiers\.0: a tier must set every rate its row sets; missing cache_read/m);
  assert.match(text, /^prices\.tiered\.tiers\.1\.above_tokens: tiers must be in increasing order/m);
  assert.equal(r.issues.length, 9, text);
});

test('a bad price file is named with its row, key and line', () => {
  const file = path.join(dir, 'bad-prices.yaml');
  fs.writeFileSync(file, ['models:', '  gpt-5-codex: {provider: openai, input: 1.25, output: 10, source: s, date: "2026-11-23"}', '  gpt-5-mini:', '    provider: openai', '    input: 0.25', '    output: two', '    source: s', '    date: "2026-11-23"', ''].join('\n'));
  const t = loadPriceFile(file);
  assert.equal(t.rows, undefined);
  assert.deepEqual(t.errors, [`${file}:6: models.gpt-5-mini.output: expected a number (USD per million tokens), got "two"`]);
  fs.writeFileSync(path.join(dir, 'syntax.yaml'), 'models:\n  a: {provider: openai\n');
  assert.match(loadPriceFile(path.join(dir, 'syntax.yaml')).errors[0], /syntax\.yaml:\d+: YAML syntax: /);
  assert.match(loadPriceFile(path.join(dir, 'nope.yaml')).errors[0], /cannot read price table .*nope\.yaml/);
});

const relayYaml = (cost: string) => `
receivers: {otlp: {}}
processors:
  cost:
${cost}
exporters: {debug: {}}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [cost], exporters: [debug]}
`;

test('the relay refuses a config whose price table has a bad row, naming the row', () => {
  const inline = loadConfigText(relayYaml('    prices:\n      gpt-5-codex: {provider: openai, input: -1, output: 10, source: s, date: "2026-11-23"}'));
  assert.equal(inline.config, undefined);
  assert.deepEqual(inline.errors, ['processors.cost.prices.gpt-5-codex.input: must not be negative, got -1 (line 6)']);

  const file = path.join(dir, 'bad-row.yaml');
  fs.writeFileSync(file, 'models:\n  my-model: {provider: openai, input: 1, output: 2, source: s}\n');
  const fromFile = loadConfigText(relayYaml(`    prices_file: ${file}`));
  assert.equal(fromFile.config, undefined);
  assert.equal(fromFile.errors.length, 1);
  assert.match(fromFile.errors[0], new RegExp(`^processors\\.cost\\.prices_file: ${file.replace(/[.\\/]/g, '\\$&')}:2: models\\.my-model\\.date: is required.* \\(line 5\\)$`));
});

test('`cost: {}` runs with the shipped table; prices_file replaces it; inline prices override and extend', () => {
  const check = (v: unknown) => {
    const ctx = { issues: [] as { path: (string | number)[]; message: string }[] };
    const c = costProcessor.schema.check(v, ['processors', 'cost'], ctx as never);
    assert.deepEqual(ctx.issues, []);
    return new Map(c!.table.map((r) => [r.id, r]));
  };
  const shipped = check({});
  assert.equal(shipped.size, shippedTable().rows!.length);
  assert.equal(shipped.get('gemini-2.5-flash')!.rates.input, 300_000n);

  const over = check({ prices: { 'gemini-2.5-flash': row({ provider: 'google', input: 0.2, output: 2, source: 'contract 42' }), 'my-model': row() } });
  assert.equal(over.size, shipped.size + 1);
  assert.equal(over.get('gemini-2.5-flash')!.rates.input, 200_000n);
  assert.equal(over.get('gemini-2.5-flash')!.source, 'contract 42');
  assert.ok(over.has('my-model'));

  const file = path.join(dir, 'own.yaml');
  fs.writeFileSync(file, 'models:\n  only-model: {provider: openai, input: 1, output: 2, source: own, date: "2026-01-31"}\n');
  const own = check({ prices_file: file });
  assert.deepEqual([...own.keys()], ['only-model']);
});
