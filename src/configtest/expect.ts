// Expectations of a config test, on what reached an exporter: how many records,
// which attributes they have (with a -expected/+actual diff when they differ),
// conditions every / no / some record matches, and text that must not appear
// anywhere (a planted secret). Conditions are the relay's own condition syntax.
import { s, type Schema } from '../config/schema';
import { compileCondition, conditionSchema, eventNameOf, findAttribute, plainValue, type Condition, type RecordContext } from '../conditions';
import { forEachRecord } from '../otlp/partition';
import type { Batch } from '../otlp/batch';
import type { Signal } from '../otlp/schema';
import type { AnyValue } from '../otlp/model';

interface AttributeCheck {
  key: string;
  /** What the test file says, for the diff. */
  expected: unknown;
  cond: Condition;
}

export interface Expectation {
  exporter: string;
  signal?: Signal;
  where?: { cond: Condition; text: string };
  count?: number;
  count_at_least?: number;
  count_at_most?: number;
  attributes: AttributeCheck[];
  all?: { cond: Condition; text: string };
  none?: { cond: Condition; text: string };
  some?: { cond: Condition; text: string };
  no_text: string[];
}

/** A condition kept with its source text, to name it in a failure. */
const namedCondition: Schema<{ cond: Condition; text: string }> = s.custom('condition', (v, path, ctx) => {
  const cond = conditionSchema.check(v, path, ctx);
  return cond ? { cond, text: flow(v) } : undefined;
});

const attributesSchema: Schema<AttributeCheck[]> = s.custom('map of attribute key to expected value', (v, path, ctx) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    ctx.issues.push({ path, severity: 'error', message: 'expected a map of attribute key to value (null: the attribute is absent)' });
    return undefined;
  }
  const out: AttributeCheck[] = [];
  for (const [key, expected] of Object.entries(v)) {
    // null: gone; a map: operators of the condition syntax (matches, exists, gt, ...); else equals.
    const leaf =
      expected === null
        ? { attribute: key, exists: false }
        : typeof expected === 'object' && !Array.isArray(expected)
          ? { attribute: key, ...(expected as object) }
          : { attribute: key, equals: expected };
    const cond = compileCondition(leaf, [...path, key], ctx);
    if (cond) out.push({ key, expected, cond });
  }
  return out;
});

const count = s.number({ min: 0, integer: true });

export const expectationSchema = s.object(
  {
    exporter: s.string({ nonEmpty: true }),
    signal: s.oneOf(['logs', 'metrics', 'traces'] as const),
    where: namedCondition,
    count,
    count_at_least: count,
    count_at_most: count,
    attributes: s.custom<AttributeCheck[]>(attributesSchema.describe, attributesSchema.check, []),
    all: namedCondition,
    none: namedCondition,
    some: namedCondition,
    no_text: s.list(s.string({ nonEmpty: true }), { default: [] }),
  },
  {
    required: ['exporter'],
    validate(v, path, ctx) {
      const checks = ['count', 'count_at_least', 'count_at_most', 'all', 'none', 'some'].filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      if (checks.length === 0 && v.attributes.length === 0 && v.no_text.length === 0)
        ctx.issues.push({ path, severity: 'error', message: 'an expectation needs a check: count, count_at_least, count_at_most, attributes, all, none, some or no_text' });
    },
  },
) as Schema<Expectation>;

/** One record that reached an exporter, with what a failure message needs. */
export interface Captured {
  signal: Signal;
  ctx: RecordContext;
  json: string;
}

export function capturedRecords(batches: Batch[]): Captured[] {
  const out: Captured[] = [];
  for (const b of batches) {
    forEachRecord(b.signal, b.read(), (ctx) => {
      const rec = ctx.log ?? ctx.span ?? ctx.dataPoint;
      out.push({ signal: b.signal, ctx, json: JSON.stringify({ resource: ctx.resource, scope: ctx.scope, metric: ctx.metric?.name, record: rec }, jsonSafe) });
    });
  }
  return out;
}

/** Checks one expectation; returns failure lines (empty: it holds). */
export function check(e: Expectation, records: Captured[]): string[] {
  const fails: string[] = [];
  let selected = e.signal ? records.filter((r) => r.signal === e.signal) : records;
  if (e.where) selected = selected.filter((r) => e.where!.cond(r.ctx));
  const n = selected.length;
  const listing = () => summaryOf(selected);
  if (e.count !== undefined && n !== e.count) fails.push(`count: expected ${e.count}, got ${n}`, ...listing());
  if (e.count_at_least !== undefined && n < e.count_at_least) fails.push(`count_at_least: expected at least ${e.count_at_least}, got ${n}`, ...listing());
  if (e.count_at_most !== undefined && n > e.count_at_most) fails.push(`count_at_most: expected at most ${e.count_at_most}, got ${n}`, ...listing());

  if (e.attributes.length) {
    let shown = 0;
    let bad = 0;
    selected.forEach((r, i) => {
      const wrong = e.attributes.filter((a) => !a.cond(r.ctx));
      if (wrong.length === 0) return;
      bad++;
      if (shown++ >= 5) return;
      fails.push(`record ${i + 1} of ${n} (${describe(r)}): attributes differ (- expected, + actual)`);
      for (const a of e.attributes) {
        const actual = display(actualValue(r.ctx, a.key));
        if (wrong.includes(a)) {
          fails.push(`  - ${a.key}: ${expectedText(a.expected)}`, `  + ${a.key}: ${actual}`);
        } else fails.push(`    ${a.key}: ${actual}`);
      }
    });
    if (bad > shown) fails.push(`... and ${bad - shown} more record(s) with differing attributes`);
  }
  const matchCheck = (kind: 'all' | 'none', c: { cond: Condition; text: string }) => {
    const off = selected.map((r, i) => [r, i] as const).filter(([r]) => (kind === 'all' ? !c.cond(r.ctx) : c.cond(r.ctx)));
    if (off.length === 0) return;
    fails.push(`${kind}: ${off.length} of ${n} record(s) ${kind === 'all' ? 'do not match' : 'match'} ${c.text}`);
    for (const [r, i] of off.slice(0, 5)) fails.push(`  record ${i + 1}: ${describe(r)}; attributes ${attributeDump(r.ctx)}`);
  };
  if (e.all) matchCheck('all', e.all);
  if (e.none) matchCheck('none', e.none);
  if (e.some && !selected.some((r) => e.some!.cond(r.ctx))) fails.push(`some: none of the ${n} record(s) match ${e.some.text}`, ...listing());
  for (const text of e.no_text) {
    const hits = selected.map((r, i) => [r, i] as const).filter(([r]) => r.json.includes(text));
    if (hits.length) fails.push(`no_text: ${JSON.stringify(text)} appears in ${hits.length} record(s): ${hits.slice(0, 5).map(([r, i]) => `record ${i + 1} (${describe(r)}, in ${whereText(r, text)})`).join('; ')}`);
  }
  return fails;
}

function summaryOf(records: Captured[]): string[] {
  if (records.length === 0) return ['  (no records)'];
  const counts = new Map<string, number>();
  for (const r of records) counts.set(describe(r), (counts.get(describe(r)) ?? 0) + 1);
  return [...counts].map(([d, k]) => `  ${k} x ${d}`);
}

/** `logs, service.name=claude-code, event tool_decision` */
function describe(r: Captured): string {
  const svc = findAttribute(r.ctx.resource?.attributes, 'service.name');
  const parts = [r.signal, `service.name=${svc && svc.stringValue !== undefined ? svc.stringValue : '-'}`];
  if (r.ctx.log) parts.push(`event ${eventNameOf(r.ctx.log) ?? '-'}`);
  else if (r.ctx.span) parts.push(`span ${r.ctx.span.name}`);
  else if (r.ctx.metric) parts.push(`metric ${r.ctx.metric.name}`);
  return parts.join(', ');
}

function actualValue(ctx: RecordContext, key: string): { found: boolean; value?: unknown } {
  let v: AnyValue | null | undefined;
  if (key === 'scope.name') return ctx.scope?.name ? { found: true, value: ctx.scope.name } : { found: false };
  if (key === 'scope.version') return ctx.scope?.version ? { found: true, value: ctx.scope.version } : { found: false };
  if (key.startsWith('resource.')) v = findAttribute(ctx.resource?.attributes, key.slice('resource.'.length));
  else if (key.startsWith('scope.')) v = findAttribute(ctx.scope?.attributes, key.slice('scope.'.length));
  else v = findAttribute((ctx.log ?? ctx.spanEvent ?? ctx.span ?? ctx.dataPoint)?.attributes, key);
  return v === undefined ? { found: false } : { found: true, value: plainValue(v) };
}

function display(a: { found: boolean; value?: unknown }): string {
  if (!a.found) return '(absent)';
  return clip(JSON.stringify(a.value, jsonSafe) ?? 'null');
}

function expectedText(v: unknown): string {
  if (v === null) return '(absent)';
  if (typeof v === 'object') return flow(v);
  return JSON.stringify(v);
}

function attributeDump(ctx: RecordContext): string {
  const attrs = (ctx.log ?? ctx.span ?? ctx.dataPoint)?.attributes ?? [];
  return '{' + attrs.map((kv) => `${kv.key}: ${clip(JSON.stringify(plainValue(kv.value), jsonSafe) ?? 'null', 60)}`).join(', ') + '}';
}

function whereText(r: Captured, text: string): string {
  const rec = r.ctx.log ?? r.ctx.span ?? r.ctx.dataPoint;
  const keys = (rec?.attributes ?? []).filter((kv) => JSON.stringify(kv.value, jsonSafe)?.includes(text)).map((kv) => `attribute ${kv.key}`);
  const res = (r.ctx.resource?.attributes ?? []).filter((kv) => JSON.stringify(kv.value, jsonSafe)?.includes(text)).map((kv) => `resource attribute ${kv.key}`);
  const all = [...keys, ...res];
  return all.length ? all.join(', ') : 'the record';
}

function clip(s: string, max = 120): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A YAML-ish one-line rendering of a condition or value as the test file wrote it. */
export function flow(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as object).map(([k, x]) => `${k}: ${flow(x)}`).join(', ')}}`;
  return typeof v === 'string' && /^[\w.\-/]+$/.test(v) ? v : JSON.stringify(v);
}

function jsonSafe(_k: string, x: unknown): unknown {
  if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
  if (typeof x === 'bigint') return x.toString();
  if (x && typeof x === 'object' && 'low' in x && 'high' in x && 'unsigned' in x) return String(x);
  return x;
}
