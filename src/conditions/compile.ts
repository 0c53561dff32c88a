// The condition syntax of the relay, compiled once at start-up into predicates.
// See README.md in this folder for the syntax. Everything that can be decided at
// compile time is (keys split, regexps compiled, operands converted), so a predicate
// does a linear scan of an attribute list and one comparison, allocating nothing.
import { RE2JS } from 're2js';
import type { Ctx } from '../config/schema';
import type { DataPoint, LogRecord, Metric, Resource, Scope, Span, SpanEvent } from '../otlp/model';
import type { Signal } from '../otlp/schema';
import { eventNameOf, findAttribute, parseNumeric, Scalar, scalarOf, stringOf } from './values';

export interface RecordContext {
  signal: Signal;
  resource?: Resource | null;
  scope?: Scope | null;
  log?: LogRecord; // for logs
  span?: Span; // for traces (span-level)
  spanEvent?: SpanEvent; // for span events (attributes are the event's; span also set)
  metric?: Metric; // for metrics
  dataPoint?: DataPoint; // for metric data points (metric also set)
}

export type Condition = (r: RecordContext) => boolean;

type Path = (string | number)[];
type Getter = (r: RecordContext) => Scalar;
type Test = (v: Scalar) => boolean;

const SUBJECTS = ['attribute', 'field'] as const;
const OPERATORS = ['equals', 'matches', 'in', 'exists', 'gt', 'lt', 'gte', 'lte'] as const;
const STANDALONE = ['severity_at_least', 'event'] as const;
const COMBINATORS = ['all', 'any', 'not'] as const;
const ALL_KEYS: readonly string[] = [...SUBJECTS, ...OPERATORS, ...STANDALONE, ...COMBINATORS];
const FIELDS = ['name', 'body', 'severity_text', 'kind', 'status'] as const;
type Field = (typeof FIELDS)[number];

const SPAN_KINDS: Record<string, number> = { unspecified: 0, internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS_CODES: Record<string, number> = { unset: 0, ok: 1, error: 2 };
const SEVERITIES: Record<string, number> = {
  trace: 1, debug: 5, info: 9, warn: 13, warning: 13, error: 17, fatal: 21, critical: 21,
};
const SEVERITY_RE = /^(trace|debug|info|warn|warning|error|fatal|critical)([1-4])?$/i;

// ---------------------------------------------------------------------------------
// Issues

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function fail(ctx: Ctx, path: Path, message: string): undefined {
  ctx.issues.push({ path, message, severity: 'error' });
  return undefined;
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

function didYouMean(word: string, known: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(word.toLowerCase(), k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return bestD <= Math.max(1, Math.floor(best.length / 3)) ? `; did you mean "${best}"?` : '';
}

// ---------------------------------------------------------------------------------
// Entry point

/**
 * Compiles a condition (a YAML value already parsed) into a predicate. On a mistake it
 * pushes an issue for every problem found, with the YAML path of the bad part, and
 * returns undefined.
 */
export function compileCondition(value: unknown, path: Path, ctx: Ctx): Condition | undefined {
  const before = ctx.issues.length;
  const c = compileAny(value, path, ctx);
  return ctx.issues.length === before ? c : undefined;
}

function compileAny(value: unknown, path: Path, ctx: Ctx): Condition | undefined {
  if (Array.isArray(value)) return compileList(value, path, 'all', ctx);
  if (value !== null && typeof value === 'object') return compileMap(value as Record<string, unknown>, path, ctx);
  return fail(
    ctx,
    path,
    `expected a condition: a map such as {attribute: KEY, equals: VALUE}, {event: NAME} or {any: [...]}, or a list of conditions, got ${typeName(value)}`,
  );
}

function compileList(items: unknown[], path: Path, how: 'all' | 'any', ctx: Ctx): Condition | undefined {
  if (items.length === 0) return fail(ctx, path, `needs at least one condition in the list`);
  const fns: Condition[] = [];
  for (let i = 0; i < items.length; i++) {
    const c = compileAny(items[i], [...path, i], ctx);
    if (c) fns.push(c);
  }
  if (fns.length !== items.length) return undefined;
  return how === 'all' ? allOf(fns) : anyOf(fns);
}

function allOf(fns: Condition[]): Condition {
  if (fns.length === 1) return fns[0];
  if (fns.length === 2) {
    const [a, b] = fns;
    return (r) => a(r) && b(r);
  }
  const n = fns.length;
  return (r) => {
    for (let i = 0; i < n; i++) if (!fns[i](r)) return false;
    return true;
  };
}

function anyOf(fns: Condition[]): Condition {
  if (fns.length === 1) return fns[0];
  if (fns.length === 2) {
    const [a, b] = fns;
    return (r) => a(r) || b(r);
  }
  const n = fns.length;
  return (r) => {
    for (let i = 0; i < n; i++) if (fns[i](r)) return true;
    return false;
  };
}

function compileMap(m: Record<string, unknown>, path: Path, ctx: Ctx): Condition | undefined {
  const keys = Object.keys(m);
  if (keys.length === 0)
    return fail(ctx, path, 'empty condition (expected a map such as {attribute: KEY, equals: VALUE} or {event: NAME})');

  const combos: string[] = [];
  const standalone: string[] = [];
  const subjects: string[] = [];
  const operators: string[] = [];
  let unknown = 0;
  for (const k of keys) {
    if ((COMBINATORS as readonly string[]).includes(k)) combos.push(k);
    else if ((STANDALONE as readonly string[]).includes(k)) standalone.push(k);
    else if ((SUBJECTS as readonly string[]).includes(k)) subjects.push(k);
    else if ((OPERATORS as readonly string[]).includes(k)) operators.push(k);
    else {
      unknown++;
      fail(ctx, [...path, k], `unknown key ${JSON.stringify(k)} (expected one of ${ALL_KEYS.join(', ')})${didYouMean(k, ALL_KEYS)}`);
    }
  }

  // A combinator owns its map: {all: [...]}, {any: [...]} or {not: ...}.
  if (combos.length > 0) {
    const head = combos[0];
    for (const k of keys) {
      if (k === head || !ALL_KEYS.includes(k)) continue;
      fail(ctx, [...path, k], `${JSON.stringify(k)} cannot share a map with ${JSON.stringify(head)}; put each condition in its own map inside the list (e.g. all: [{...}, {...}])`);
    }
    // Compile every combinator found, to report the problems inside them too.
    let first: Condition | undefined;
    for (const k of combos) {
      const c = compileCombinator(k as 'all' | 'any' | 'not', m[k], [...path, k], ctx);
      if (k === head) first = c;
    }
    return first;
  }

  // A standalone leaf is alone in its map: {event: NAME} or {severity_at_least: LEVEL}.
  if (standalone.length > 0) {
    const head = standalone[0];
    for (const k of keys) {
      if (k === head || !ALL_KEYS.includes(k)) continue;
      fail(ctx, [...path, k], `${JSON.stringify(k)} cannot share a map with ${JSON.stringify(head)}; combine conditions with all: [{${head}: ...}, {...}]`);
    }
    let first: Condition | undefined;
    for (const k of standalone) {
      const c = k === 'event' ? compileEvent(m[k], [...path, k], ctx) : compileSeverity(m[k], [...path, k], ctx);
      if (k === head) first = c;
    }
    return first;
  }

  // A subject leaf: exactly one of attribute/field and exactly one operator.
  if (subjects.length === 0) {
    if (operators.length === 0) return undefined; // only unknown keys, already reported
    fail(ctx, path, `${JSON.stringify(operators[0])} needs a subject: add attribute: KEY or field: ${FIELDS.join('|')}`);
  }
  if (subjects.length > 1)
    fail(ctx, [...path, subjects[1]], `a condition has one subject, got both "attribute" and "field"; combine conditions with all: [...]`);
  if (subjects.length > 0 && operators.length === 0) {
    const sv = m[subjects[0]];
    fail(ctx, path, `${subjects[0]}: ${typeof sv === 'string' ? sv : typeName(sv)} needs an operator: one of ${OPERATORS.join(', ')}`);
  }
  for (let i = 1; i < operators.length; i++)
    fail(ctx, [...path, operators[i]], `one operator per condition, got ${JSON.stringify(operators[0])} and ${JSON.stringify(operators[i])}; combine conditions with all: [...]`);

  let subject: Subject | undefined;
  if (subjects.length > 0)
    subject = subjects[0] === 'field' ? compileField(m.field, [...path, 'field'], ctx) : compileAttribute(m.attribute, [...path, 'attribute'], ctx);
  if (subjects.length > 1) {
    if (subjects[1] === 'field') compileField(m.field, [...path, 'field'], ctx);
    else compileAttribute(m.attribute, [...path, 'attribute'], ctx);
  }
  // Every operator is checked, so that all problems are reported; the first one is the condition.
  let cond: Condition | undefined;
  for (const op of operators) {
    const c = compileOperator(op, m[op], [...path, op], subject, ctx);
    if (op === operators[0]) cond = c;
  }
  return cond;
}

function compileCombinator(k: 'all' | 'any' | 'not', v: unknown, path: Path, ctx: Ctx): Condition | undefined {
  if (k === 'not') {
    const c = compileAny(v, path, ctx);
    return c ? (r) => !c(r) : undefined;
  }
  if (!Array.isArray(v)) return fail(ctx, path, `expected a list of conditions, got ${typeName(v)}`);
  return compileList(v, path, k, ctx);
}

// ---------------------------------------------------------------------------------
// Subjects

interface Subject {
  get: Getter;
  /** Fast presence check (attribute subjects avoid converting the value). */
  exists: Condition;
  /** kind and status are numbers whose operands may be names. */
  names?: Record<string, number>;
  field?: Field;
}

function recordAttributes(r: RecordContext) {
  const o = r.spanEvent ?? r.log ?? r.span ?? r.dataPoint;
  return o === undefined ? undefined : o.attributes;
}

function compileAttribute(v: unknown, path: Path, ctx: Ctx): Subject | undefined {
  if (typeof v !== 'string' || v === '') return fail(ctx, path, `expected an attribute key (a non-empty string), got ${typeName(v)}`);
  if (v.startsWith('resource.')) {
    const key = v.slice('resource.'.length);
    if (key === '') return fail(ctx, path, 'expected resource.KEY (e.g. resource.service.name), got "resource."');
    return {
      get: (r) => scalarOf(findAttribute(r.resource?.attributes, key)),
      exists: (r) => findAttribute(r.resource?.attributes, key) !== undefined,
    };
  }
  if (v === 'scope.name' || v === 'scope.version') {
    const f = v === 'scope.name' ? 'name' : 'version';
    const get = (r: RecordContext) => r.scope?.[f] || undefined;
    return { get, exists: (r) => get(r) !== undefined };
  }
  if (v.startsWith('scope.')) {
    const key = v.slice('scope.'.length);
    if (key === '') return fail(ctx, path, 'expected scope.name, scope.version or scope.KEY, got "scope."');
    return {
      get: (r) => scalarOf(findAttribute(r.scope?.attributes, key)),
      exists: (r) => findAttribute(r.scope?.attributes, key) !== undefined,
    };
  }
  const key = v;
  return {
    get: (r) => scalarOf(findAttribute(recordAttributes(r), key)),
    exists: (r) => findAttribute(recordAttributes(r), key) !== undefined,
  };
}

function nameOf(r: RecordContext): string | undefined {
  let n: string | undefined;
  if (r.spanEvent) n = r.spanEvent.name;
  else if (r.log) n = eventNameOf(r.log);
  else if (r.span) n = r.span.name;
  else if (r.metric) n = r.metric.name;
  return n || undefined;
}

const FIELD_GETTERS: Record<Field, Getter> = {
  name: nameOf,
  body: (r) => (r.log ? stringOf(r.log.body) : undefined),
  severity_text: (r) => (r.log ? r.log.severityText || undefined : undefined),
  kind: (r) => (r.span ? r.span.kind ?? 0 : undefined),
  status: (r) => (r.span ? r.span.status?.code ?? 0 : undefined),
};

function compileField(v: unknown, path: Path, ctx: Ctx): Subject | undefined {
  if (typeof v !== 'string' || !(FIELDS as readonly string[]).includes(v))
    return fail(ctx, path, `expected a field: one of ${FIELDS.join(', ')}, got ${typeName(v)}`);
  const f = v as Field;
  const get = FIELD_GETTERS[f];
  return {
    get,
    exists: (r) => get(r) !== undefined,
    names: f === 'kind' ? SPAN_KINDS : f === 'status' ? STATUS_CODES : undefined,
    field: f,
  };
}

// ---------------------------------------------------------------------------------
// Operators

type Operand = string | number | boolean;

function isOperand(v: unknown): v is Operand {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && !Number.isNaN(v));
}

/** Checks an equals/in operand; for kind and status, turns names into numbers. */
function operand(v: unknown, path: Path, subject: Subject | undefined, ctx: Ctx, hint = ''): Operand | undefined {
  if (!isOperand(v)) return fail(ctx, path, `expected a string, number or boolean${hint}, got ${typeName(v)}`);
  const names = subject?.names;
  if (names && typeof v === 'string') {
    const lower = v.toLowerCase().replace(/^(span_kind_|status_code_)/, '');
    if (lower in names) return names[lower];
    const n = parseNumeric(v);
    if (!Number.isNaN(n)) return n;
    return fail(ctx, path, `expected one of ${Object.keys(names).join(', ')} or a number for field ${subject!.field}, got ${typeName(v)}`);
  }
  return v;
}

function isTrueString(s: string): boolean {
  return s === 'true' || s === 'True' || s === 'TRUE';
}
function isFalseString(s: string): boolean {
  return s === 'false' || s === 'False' || s === 'FALSE';
}
function boolOfString(s: string): boolean | undefined {
  return isTrueString(s) ? true : isFalseString(s) ? false : undefined;
}

/**
 * Equality with one operand. A string operand equals the same string, or a number or
 * boolean written that way; a number operand equals a number or a numeric string; a
 * boolean operand equals a boolean or "true"/"false".
 */
function equalsTest(x: Operand): Test {
  if (typeof x === 'string') {
    const n = parseNumeric(x);
    const b = boolOfString(x);
    return (v) => (typeof v === 'string' ? v === x : typeof v === 'number' ? v === n : typeof v === 'boolean' ? v === b : false);
  }
  if (typeof x === 'number') {
    return (v) => (typeof v === 'number' ? v === x : typeof v === 'string' ? parseNumeric(v) === x : false);
  }
  return (v) => (typeof v === 'boolean' ? v === x : typeof v === 'string' ? boolOfString(v) === x : false);
}

/** Equality with any of several operands, with the same rules as equalsTest, through sets. */
function inTest(xs: Operand[]): Test {
  if (xs.length === 1) return equalsTest(xs[0]);
  const strs = new Set<string>();
  const numOps = new Set<number>(); // number operands: compared with numbers and numeric strings
  const numAll = new Set<number>(); // and numeric string operands: compared with numbers
  let boolOpTrue = false, boolOpFalse = false; // boolean operands: compared with booleans and "true"/"false"
  let boolAllTrue = false, boolAllFalse = false; // and "true"/"false" operands: compared with booleans
  for (const x of xs) {
    if (typeof x === 'string') {
      strs.add(x);
      const n = parseNumeric(x);
      if (!Number.isNaN(n)) numAll.add(n);
      const b = boolOfString(x);
      if (b === true) boolAllTrue = true;
      if (b === false) boolAllFalse = true;
    } else if (typeof x === 'number') {
      numOps.add(x);
      numAll.add(x);
    } else {
      if (x) boolOpTrue = boolAllTrue = true;
      else boolOpFalse = boolAllFalse = true;
    }
  }
  const anyNumOps = numOps.size > 0;
  const anyBoolOps = boolOpTrue || boolOpFalse;
  return (v) => {
    switch (typeof v) {
      case 'string': {
        if (strs.has(v)) return true;
        if (anyNumOps) {
          const n = parseNumeric(v);
          if (n === n && numOps.has(n)) return true;
        }
        if (anyBoolOps) return (boolOpTrue && isTrueString(v)) || (boolOpFalse && isFalseString(v));
        return false;
      }
      case 'number':
        return numAll.has(v);
      case 'boolean':
        return v ? boolAllTrue : boolAllFalse;
      default:
        return false;
    }
  };
}

/** A number for gt/lt/gte/lte: numbers, and strings that are decimal numbers; else NaN. */
function numberOf(v: Scalar): number {
  return typeof v === 'number' ? v : typeof v === 'string' ? parseNumeric(v) : NaN;
}

const LITERAL_RE = /^[A-Za-z0-9_\-/:@,;=<>'"%&!~` #]*$/;

/** A search with a linear-time RE2 regular expression; a pattern with no metacharacters is a substring search. */
function regexTest(pattern: string, path: Path, ctx: Ctx): ((s: string) => boolean) | undefined {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (e) {
    const msg = (e as Error).message.replace(/^error parsing regexp: /, '');
    return fail(ctx, path, `invalid regular expression ${JSON.stringify(pattern)}: ${msg}`);
  }
  if (LITERAL_RE.test(pattern)) return (s) => s.includes(pattern);
  return (s) => re.test(s);
}

function compileOperator(op: string, v: unknown, path: Path, subject: Subject | undefined, ctx: Ctx): Condition | undefined {
  let test: Test | undefined;
  switch (op) {
    case 'exists': {
      if (typeof v !== 'boolean') return fail(ctx, path, `expected true or false, got ${typeName(v)}`);
      if (!subject) return undefined;
      const has = subject.exists;
      return v ? has : (r) => !has(r);
    }
    case 'equals': {
      const x = operand(v, path, subject, ctx, Array.isArray(v) ? ' (for several values use in: [...])' : '');
      if (x === undefined) return undefined;
      test = equalsTest(x);
      break;
    }
    case 'in': {
      if (!Array.isArray(v)) return fail(ctx, path, `expected a list of values, got ${typeName(v)}`);
      if (v.length === 0) return fail(ctx, path, 'needs at least one value');
      const xs: Operand[] = [];
      for (let i = 0; i < v.length; i++) {
        const x = operand(v[i], [...path, i], subject, ctx);
        if (x !== undefined) xs.push(x);
      }
      if (xs.length !== v.length) return undefined;
      test = inTest(xs);
      break;
    }
    case 'matches': {
      if (typeof v !== 'string') return fail(ctx, path, `expected a regular expression (a string), got ${typeName(v)}`);
      if (subject?.names) return fail(ctx, path, `"matches" does not apply to field ${subject.field} (a number); use equals or in`);
      const search = regexTest(v, path, ctx);
      if (!search) return undefined;
      test = (x) =>
        typeof x === 'string' ? search(x) : typeof x === 'number' || typeof x === 'boolean' ? search(String(x)) : false;
      break;
    }
    case 'gt': case 'lt': case 'gte': case 'lte': {
      if (typeof v !== 'number' || Number.isNaN(v)) return fail(ctx, path, `expected a number, got ${typeName(v)}`);
      const n = v;
      test =
        op === 'gt' ? (x) => numberOf(x) > n
        : op === 'lt' ? (x) => numberOf(x) < n
        : op === 'gte' ? (x) => numberOf(x) >= n
        : (x) => numberOf(x) <= n;
      break;
    }
    default:
      return undefined;
  }
  if (!subject) return undefined;
  const get = subject.get;
  const t = test;
  return (r) => t(get(r));
}

// ---------------------------------------------------------------------------------
// Standalone leaves

/**
 * `event: NAME`: equal names, or one is the other with a single `<prefix>.` in front
 * where the bare side has no dot (tool_decision ~ claude_code.tool_decision ~ codex.tool_decision).
 */
export function eventNameTest(name: string): (actual: string) => boolean {
  const dot = name.indexOf('.');
  if (dot < 0) {
    const suffix = '.' + name;
    const sl = suffix.length;
    return (a) => a === name || (a.length > sl && a.endsWith(suffix) && a.indexOf('.') === a.length - sl);
  }
  if (dot > 0 && dot < name.length - 1 && name.indexOf('.', dot + 1) < 0) {
    const bare = name.slice(dot + 1);
    return (a) => a === name || a === bare;
  }
  return (a) => a === name;
}

function compileEvent(v: unknown, path: Path, ctx: Ctx): Condition | undefined {
  if (typeof v !== 'string' || v === '')
    return fail(ctx, path, `expected an event name such as tool_decision or codex.tool_decision, got ${typeName(v)}`);
  const test = eventNameTest(v);
  return (r) => {
    const log = r.log;
    if (log === undefined) return false;
    const n = eventNameOf(log);
    return n !== undefined && test(n);
  };
}

/** A severity name (WARN, warning, ERROR2...) as its lowest SeverityNumber, or undefined. */
export function severityFromName(s: string): number | undefined {
  const m = SEVERITY_RE.exec(s.trim());
  if (!m) return undefined;
  return SEVERITIES[m[1].toLowerCase()] + (m[2] ? Number(m[2]) - 1 : 0);
}

const severityTextCache = new Map<string, number>();

function severityOfText(t: string): number {
  let n = severityTextCache.get(t);
  if (n === undefined) {
    n = severityFromName(t) ?? 0;
    if (severityTextCache.size < 256) severityTextCache.set(t, n);
  }
  return n;
}

function compileSeverity(v: unknown, path: Path, ctx: Ctx): Condition | undefined {
  let min: number | undefined;
  if (typeof v === 'number') min = Number.isInteger(v) && v >= 1 && v <= 24 ? v : undefined;
  else if (typeof v === 'string') {
    min = severityFromName(v);
    if (min === undefined && /^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 24) min = Number(v);
  }
  if (min === undefined)
    return fail(ctx, path, `expected a severity: TRACE, DEBUG, INFO, WARN, ERROR, FATAL (any case) or a number 1..24, got ${typeName(v)}`);
  const t = min;
  return (r) => {
    const log = r.log;
    if (log === undefined) return false;
    const n = log.severityNumber;
    if (n) return n >= t;
    const text = log.severityText;
    return text ? severityOfText(text) >= t : false;
  };
}
