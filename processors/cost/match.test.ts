// Model matching against the shipped table: exact id, then normalized forms, never a prefix.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { PriceIndex, normalizeModel, stripDate } from './match';
import { shippedTable } from './prices';

const index = new PriceIndex(shippedTable().rows!);
const idOf = (model: string) => index.lookup(model)?.row.id;

test('an exact id wins over every normalized form', () => {
  assert.equal(idOf('claude-haiku-4-5-20251001'), 'claude-haiku-4-5-20251001');
  assert.equal(idOf('gpt-5-2025-08-07'), 'gpt-5-2025-08-07');
  assert.equal(idOf('gemini-2.5-flash'), 'gemini-2.5-flash');
});

test('provider prefixes, the [1m] context suffix, case and date suffixes are normalized away', () => {
  assert.equal(idOf('models/gemini-2.5-flash'), 'gemini-2.5-flash');
  assert.equal(idOf('openai/gpt-5-codex'), 'gpt-5-codex');
  assert.equal(idOf('GPT-5-Codex'), 'gpt-5-codex');
  assert.equal(idOf('claude-opus-4-8[1m]'), 'claude-opus-4-8');
  assert.equal(idOf('claude-opus-4-8-20261201'), 'claude-opus-4-8');
  assert.equal(idOf('anthropic/claude-sonnet-4-5@20250929'), 'claude-sonnet-4-5-20250929');
  assert.equal(idOf('gpt-5-codex-2025-09-15'), 'gpt-5-codex');
  // A dated id whose undated form is absent still finds its dated sibling.
  assert.equal(idOf('claude-3-haiku-20250101'), 'claude-3-haiku-20240307');
  assert.equal(index.lookup('claude-opus-4-8[1m]')!.longContext, true);
  assert.equal(index.lookup('claude-opus-4-8')!.longContext, false);
});

test('never a loose prefix match', () => {
  assert.equal(idOf('gemini-3.5-flash'), 'gemini-3.5-flash');
  assert.equal(idOf('gemini-3.5-flash-lite'), undefined);
  assert.equal(idOf('gemini-3.8-flash'), undefined);
  assert.equal(idOf('gpt-5-codex-max'), undefined);
  assert.equal(idOf('gpt-5.1-codex-mini-2'), undefined);
  assert.equal(idOf('claude-opus'), undefined);
  // Not a prefix match: claude-opus-4 is the undated form of the claude-opus-4-20250514 row.
  assert.equal(idOf('claude-opus-4'), 'claude-opus-4-20250514');
  assert.equal(idOf(''), undefined);
  assert.equal(idOf('models/'), undefined);
});

test('normalizeModel and stripDate', () => {
  assert.equal(normalizeModel(' models/Gemini-2.5-Pro '), 'gemini-2.5-pro');
  assert.equal(normalizeModel('claude-opus-4-8[1m]'), 'claude-opus-4-8');
  assert.equal(stripDate('claude-haiku-4-5-20251001'), 'claude-haiku-4-5');
  assert.equal(stripDate('gpt-4o-2024-05-13'), 'gpt-4o');
  assert.equal(stripDate('gpt-5.1-codex-max'), 'gpt-5.1-codex-max');
  assert.equal(stripDate('model-12345678'), 'model-12345678');
});

test('an inline row that shadows a dated id is found exactly; the undated row keeps the other snapshots', () => {
  const rows = shippedTable().rows!;
  const mine = { ...rows.find((r) => r.id === 'gpt-5-codex')!, id: 'gpt-5-codex-2026-01-01', source: 'mine' };
  const ix = new PriceIndex([...rows, mine]);
  assert.equal(ix.lookup('gpt-5-codex-2026-01-01')!.row.source, 'mine');
  assert.equal(ix.lookup('gpt-5-codex-2026-02-02')!.row.id, 'gpt-5-codex');
});
