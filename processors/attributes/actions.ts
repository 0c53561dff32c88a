// The attribute actions shared by the attributes processor (record attributes) and
// the resource processor (resource attributes): checked and compiled once at start-up
// into functions that change one attribute list. Each function runs in two modes:
// `dry` only answers "would this change anything?" (so a batch nothing changes is
// never copied), the other mode changes the list, which is then a private copy.
import { RE2JS } from 're2js';
import type { Ctx, Schema } from '../../src/config/schema';
import { compileCondition, findAttribute, type Condition } from '../../src/conditions';
import type { AnyValue, KeyValue } from '../../src/otlp/model';
import {
  cloneValue, convertValue, CONVERTED_TYPES, hasher, kindOf, sameScalar, truncateString, UNCHANGED, type ConvertedType,
} from './values';

export const ACTION_NAMES = ['insert', 'update', 'upsert', 'delete', 'rename', 'convert', 'truncate', 'hash', 'copy'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

/** What the actions saw that the operator should know about, counted per batch. */
export interface Stats {
  truncated: number;
  notConverted: number;
}

/** Changes `attrs` (or, when `dry`, only tells whether it would). Returns true on a change. */
export type RunFn = (attrs: KeyValue[], dry: boolean, stats: Stats) => boolean;

export interface CompiledAction {
  action: ActionName;
  /** Only records (or resources) matching this condition are touched. */
  where?: Condition;
  run: RunFn;
}

type Path = (string | number)[];

// Keys each action takes besides `action` and `where`.
const KEYS: Record<ActionName, readonly string[]> = {
  insert: ['key', 'value', 'from_attribute'],
  update: ['key', 'value', 'from_attribute'],
  upsert: ['key', 'value', 'from_attribute'],
  delete: ['key', 'pattern'],
  rename: ['key', 'to'],
  convert: ['key', 'pattern', 'converted_type'],
  truncate: ['key', 'pattern', 'length'],
  hash: ['key', 'pattern', 'hmac_key'],
  copy: ['key', 'from_attribute'],
};

export const MIN_HMAC_KEY_BYTES = 32;

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

function closest(word: string, known: readonly string[]): string {
  const lower = word.toLowerCase();
  if (lower.length < 3) return '';
  for (const k of known) if (k.startsWith(lower.slice(0, 3)) || lower.startsWith(k)) return `; did you mean "${k}"?`;
  return '';
}

// ---------------------------------------------------------------------------------
// Key selection: one key, or every key a pattern finds

type KeyMatcher = { key: string } | { pattern: (k: string) => boolean };

/** An unanchored RE2 search over attribute keys, remembered per key: the same few keys come back in every record. */
function patternMatcher(re: RE2JS): (k: string) => boolean {
  const seen = new Map<string, boolean>();
  return (k) => {
    let m = seen.get(k);
    if (m === undefined) {
      m = re.test(k);
      if (seen.size < 4096) seen.set(k, m);
    }
    return m;
  };
}

function indexOfKey(attrs: KeyValue[], key: string): number {
  for (let i = 0; i < attrs.length; i++) if (attrs[i].key === key) return i;
  return -1;
}

/** Calls `fn` with the index of every attribute the matcher selects. */
function forMatching(attrs: KeyValue[], m: KeyMatcher, fn: (i: number) => boolean | void): void {
  if ('key' in m) {
    const key = m.key;
    for (let i = 0; i < attrs.length; i++) if (attrs[i].key === key && fn(i) === true) return;
  } else {
    const test = m.pattern;
    for (let i = 0; i < attrs.length; i++) if (test(attrs[i].key) && fn(i) === true) return;
  }
}

// ---------------------------------------------------------------------------------
// The actions

/** Where a new value comes from: a constant from the config, or another attribute. */
interface Source {
  present(attrs: KeyValue[]): boolean;
  make(attrs: KeyValue[]): AnyValue;
  /** The constant, when the value is one (to skip writing a value that is already there). */
  constant?: AnyValue;
}

function constantSource(v: AnyValue): Source {
  return { present: () => true, make: () => cloneValue(v), constant: v };
}

function attributeSource(from: string): Source {
  return {
    present: (attrs) => findAttribute(attrs, from) !== undefined,
    make: (attrs) => cloneValue(findAttribute(attrs, from)),
  };
}

/** insert (only when absent), update (only when present), upsert (either). */
function setter(key: string, src: Source, mode: 'insert' | 'update' | 'upsert'): RunFn {
  return (attrs, dry) => {
    const i = indexOfKey(attrs, key);
    if (i >= 0 ? mode === 'insert' : mode === 'update') return false;
    if (!src.present(attrs)) return false;
    if (i >= 0 && src.constant && sameScalar(attrs[i].value, src.constant)) return false;
    if (dry) return true;
    const value = src.make(attrs);
    if (i >= 0) attrs[i] = { key, value };
    else attrs.push({ key, value });
    return true;
  };
}

/** Removes every attribute the matcher selects, keeping the order of the rest. */
function deleter(m: KeyMatcher): RunFn {
  return (attrs, dry) => {
    let found = false;
    forMatching(attrs, m, () => (found = true)); // the first is enough to know; the pass below removes them all
    if (!found || dry) return found;
    const test = 'key' in m ? (k: string) => k === m.key : m.pattern;
    let w = 0;
    for (let r = 0; r < attrs.length; r++) if (!test(attrs[r].key)) attrs[w++] = attrs[r];
    attrs.length = w;
    return true;
  };
}

/** `key` becomes `to`, in place; an attribute already named `to` is replaced. */
function renamer(key: string, to: string): RunFn {
  return (attrs, dry) => {
    const i = indexOfKey(attrs, key);
    if (i < 0) return false;
    if (dry) return true;
    const value = attrs[i].value;
    attrs[i] = { key: to, value };
    let w = 0;
    for (let r = 0; r < attrs.length; r++) {
      const k = attrs[r].key;
      if ((k === to && r !== i) || k === key) continue;
      attrs[w++] = attrs[r];
    }
    attrs.length = w;
    return true;
  };
}

function converter(m: KeyMatcher, to: ConvertedType): RunFn {
  return (attrs, dry, stats) => {
    let changed = false;
    forMatching(attrs, m, (i) => {
      const v = attrs[i].value;
      if (kindOf(v) === undefined) return; // an empty value holds nothing to convert
      const out = convertValue(v!, to);
      if (out === UNCHANGED) return;
      if (out === undefined) {
        stats.notConverted++;
        return;
      }
      changed = true;
      if (dry) return true;
      attrs[i] = { key: attrs[i].key, value: out };
    });
    return changed;
  };
}

function truncator(m: KeyMatcher, length: number): RunFn {
  return (attrs, dry, stats) => {
    let changed = false;
    forMatching(attrs, m, (i) => {
      const v = attrs[i].value;
      if (kindOf(v) !== 'stringValue') return;
      const cut = truncateString(v!.stringValue!, length);
      if (cut === undefined) return;
      changed = true;
      stats.truncated++;
      if (dry) return true;
      attrs[i] = { key: attrs[i].key, value: { stringValue: cut } };
    });
    return changed;
  };
}

function hashAction(m: KeyMatcher, secret: Buffer): RunFn {
  const hash = hasher(secret);
  return (attrs, dry) => {
    let changed = false;
    forMatching(attrs, m, (i) => {
      const v = attrs[i].value;
      if (kindOf(v) === undefined) return;
      changed = true;
      if (dry) return true;
      attrs[i] = { key: attrs[i].key, value: { stringValue: hash(v!)! } };
    });
    return changed;
  };
}

// ---------------------------------------------------------------------------------
// Checking the config

function checkString(v: unknown, path: Path, ctx: Ctx, what: string): string | undefined {
  if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
  if (typeof v !== 'string' || v === '') return fail(ctx, path, `expected ${what} (a non-empty string), got ${typeName(v)}`);
  return v;
}

function checkPattern(v: unknown, path: Path, ctx: Ctx): ((k: string) => boolean) | undefined {
  if (typeof v !== 'string' || v === '') return fail(ctx, path, `expected a regular expression over attribute keys (a string), got ${typeName(v)}`);
  try {
    return patternMatcher(RE2JS.compile(v));
  } catch (e) {
    const msg = (e as Error).message.replace(/^error parsing regexp: /, '');
    return fail(ctx, path, `invalid regular expression ${JSON.stringify(v)}: ${msg}`);
  }
}

function checkValue(v: unknown, path: Path, ctx: Ctx): AnyValue | undefined {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number' && Number.isFinite(v)) {
    if (!Number.isInteger(v)) return { doubleValue: v };
    if (!Number.isSafeInteger(v)) return fail(ctx, path, `${v} is beyond 2^53 and cannot be kept exactly; quote it to insert a string`);
    return { intValue: v };
  }
  return fail(ctx, path, `expected a string, number or boolean, got ${typeName(v)}`);
}

/** Resource actions see only the resource, so their conditions may only read resource attributes. */
function checkResourceWhere(v: unknown, path: Path, ctx: Ctx): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkResourceWhere(x, [...path, i], ctx));
    return;
  }
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === 'attribute' && typeof x === 'string' && x !== '' && !x.startsWith('resource.'))
      fail(ctx, [...path, k], `the resource processor sees only resource attributes: write resource.${x}`);
    else if (k === 'field' || k === 'event' || k === 'severity_at_least')
      fail(ctx, [...path, k], `"${k}" reads records, which the resource processor does not see; use attribute: resource.KEY`);
    else if (k === 'all' || k === 'any' || k === 'not') checkResourceWhere(x, [...path, k], ctx);
  }
}

export interface ActionOptions {
  /** The resource processor: `where` may only read resource attributes. */
  resource: boolean;
}

function checkAction(raw: unknown, path: Path, ctx: Ctx, opts: ActionOptions): CompiledAction | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return fail(ctx, path, `expected an action: a map such as {action: upsert, key: env, value: prod}, got ${typeName(raw)}`);
  const a = raw as Record<string, unknown>;
  const before = ctx.issues.length;
  if (a.action === undefined || a.action === null)
    return fail(ctx, [...path, 'action'], `is required (one of ${ACTION_NAMES.join(', ')})`);
  if (typeof a.action !== 'string' || !(ACTION_NAMES as readonly string[]).includes(a.action)) {
    const hint = typeof a.action === 'string' ? closest(a.action, ACTION_NAMES) : '';
    return fail(ctx, [...path, 'action'], `unknown action ${typeName(a.action)} (known: ${ACTION_NAMES.join(', ')})${hint}`);
  }
  const action = a.action as ActionName;
  const allowed = ['action', 'where', ...KEYS[action]];
  for (const k of Object.keys(a))
    if (!allowed.includes(k)) fail(ctx, [...path, k], `unknown key for action ${action} (known: ${allowed.join(', ')})`);

  let where: Condition | undefined;
  if (a.where !== undefined && a.where !== null) {
    if (opts.resource) checkResourceWhere(a.where, [...path, 'where'], ctx);
    where = compileCondition(a.where, [...path, 'where'], ctx);
  }

  // The attribute(s) acted on: `key`, or for some actions `pattern` instead.
  const takesPattern = KEYS[action].includes('pattern');
  let matcher: KeyMatcher | undefined;
  let key: string | undefined;
  if (a.key !== undefined && a.key !== null) {
    key = checkString(a.key, [...path, 'key'], ctx, 'an attribute key');
    if (key !== undefined) matcher = { key };
  }
  if (takesPattern && a.pattern !== undefined && a.pattern !== null) {
    if (a.key !== undefined && a.key !== null) fail(ctx, [...path, 'pattern'], 'give key or pattern, not both');
    const p = checkPattern(a.pattern, [...path, 'pattern'], ctx);
    if (p) matcher = { pattern: p };
  } else if (a.key === undefined || a.key === null) {
    fail(ctx, [...path, 'key'], takesPattern ? 'is required (or pattern)' : 'is required');
  }

  let run: RunFn | undefined;
  switch (action) {
    case 'insert': case 'update': case 'upsert': {
      const hasValue = a.value !== undefined && a.value !== null;
      const hasFrom = a.from_attribute !== undefined && a.from_attribute !== null;
      let src: Source | undefined;
      if (hasValue && hasFrom) fail(ctx, [...path, 'from_attribute'], 'give value or from_attribute, not both');
      else if (hasValue) {
        const v = checkValue(a.value, [...path, 'value'], ctx);
        if (v) src = constantSource(v);
      } else if (hasFrom) {
        const from = checkString(a.from_attribute, [...path, 'from_attribute'], ctx, 'an attribute key');
        if (from !== undefined) src = attributeSource(from);
      } else fail(ctx, [...path, 'value'], 'is required (or from_attribute)');
      if (key !== undefined && src) run = setter(key, src, action);
      break;
    }
    case 'copy': {
      if (a.from_attribute === undefined || a.from_attribute === null) {
        fail(ctx, [...path, 'from_attribute'], 'is required: the attribute to copy into key');
        break;
      }
      const from = checkString(a.from_attribute, [...path, 'from_attribute'], ctx, 'an attribute key');
      if (from !== undefined && from === key) fail(ctx, [...path, 'from_attribute'], 'is the same as key; nothing to copy');
      else if (from !== undefined && key !== undefined) run = setter(key, attributeSource(from), 'upsert');
      break;
    }
    case 'delete':
      if (matcher) run = deleter(matcher);
      break;
    case 'rename': {
      if (a.to === undefined || a.to === null) {
        fail(ctx, [...path, 'to'], 'is required: the new name of key');
        break;
      }
      const to = checkString(a.to, [...path, 'to'], ctx, 'an attribute key');
      if (to !== undefined && to === key) fail(ctx, [...path, 'to'], 'is the same as key; nothing to rename');
      else if (to !== undefined && key !== undefined) run = renamer(key, to);
      break;
    }
    case 'convert': {
      const t = a.converted_type;
      if (t === undefined || t === null) fail(ctx, [...path, 'converted_type'], `is required (one of ${CONVERTED_TYPES.join(', ')})`);
      else if (typeof t !== 'string' || !(CONVERTED_TYPES as readonly string[]).includes(t))
        fail(ctx, [...path, 'converted_type'], `expected one of ${CONVERTED_TYPES.join(', ')}, got ${typeName(t)}`);
      else if (matcher) run = converter(matcher, t as ConvertedType);
      break;
    }
    case 'truncate': {
      const n = a.length;
      if (n === undefined || n === null) fail(ctx, [...path, 'length'], 'is required: the number of characters to keep');
      else if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
        fail(ctx, [...path, 'length'], `expected a whole number of characters (0 or more), got ${typeName(n)}`);
      else if (matcher) run = truncator(matcher, n);
      break;
    }
    case 'hash': {
      const k = a.hmac_key;
      // Never echo the key itself in a message.
      if (k === undefined || k === null || k === '')
        fail(ctx, [...path, 'hmac_key'], `is required: a secret of at least ${MIN_HMAC_KEY_BYTES} bytes, e.g. "\${env:ATTRIBUTES_HMAC_KEY}"`);
      else if (typeof k !== 'string') fail(ctx, [...path, 'hmac_key'], `expected a string of at least ${MIN_HMAC_KEY_BYTES} bytes, got a ${Array.isArray(k) ? 'list' : typeof k}`);
      else if (Buffer.byteLength(k, 'utf8') < MIN_HMAC_KEY_BYTES)
        fail(ctx, [...path, 'hmac_key'], `must be at least ${MIN_HMAC_KEY_BYTES} bytes long (got ${Buffer.byteLength(k, 'utf8')})`);
      else if (matcher) run = hashAction(matcher, Buffer.from(k, 'utf8'));
      break;
    }
  }
  if (ctx.issues.length !== before || !run) return undefined;
  return { action, where, run };
}

/** The `actions` list: `[]` by default (the processor then passes everything on unchanged). */
export function actionsSchema(opts: ActionOptions): Schema<CompiledAction[]> {
  return {
    describe: 'list of actions',
    default: [],
    check(v, path, ctx) {
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) return fail(ctx, path, `expected a list of actions, got ${typeName(v)}`);
      const before = ctx.issues.length;
      const out = v.map((x, i) => checkAction(x, [...path, i], ctx, opts));
      return ctx.issues.length === before ? (out as CompiledAction[]) : undefined;
    },
  };
}
