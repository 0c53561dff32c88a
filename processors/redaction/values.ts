// What happens to one attribute value: the allow-list, pseudonymization, per-key
// overrides, the agents' content fields, and secret scrubbing of everything else, down
// to nested kvlists, arrays and JSON held in strings. Values are never changed in place:
// a changed attribute gets a new KeyValue and its list a new array.
import { anyValueKind } from '../../src/conditions/values';
import { int64Value, stringOf } from '../../src/conditions';
import type { AnyValue, KeyValue } from '../../src/otlp/model';
import {
  COMMAND_ARGS_KEYS, POINT_FIELDS, RECORD_FIELDS, SHAPE_CATEGORIES, rewriteMessageBody,
  type Action, type Category, type ContentField, type MessageOps,
} from './content';
import { mark } from './detectors';
import { Hasher } from './identity';
import { remembered } from './remember';
import type { Scrubber } from './scrubber';
import type { RecordTally } from './tally';

export interface RedactorSettings {
  actions: Record<Category, Action>;
  commandArgs: 'program' | 'keep' | 'drop';
  maskText: string;
  overrides: ReadonlyMap<string, Action>;
  pseudonymize: ReadonlySet<string>;
  keepEmailDomain: boolean;
  summary: 'silent' | 'info' | 'debug';
}

export interface RedactorSinks {
  secret(detector: string, field: string, n: number): void;
  field(field: string, action: string): void;
}

export const SAME = Symbol('same');
export const DROP = Symbol('drop');
export type Outcome = AnyValue | typeof SAME | typeof DROP;

/** Where an attribute list sits: which content fields can be in it. */
export type Level = 'resource' | 'scope' | 'record' | 'point' | 'link';

interface KeyPlan {
  allowed: boolean;
  pseudonymize: boolean;
  override: Action | undefined;
  record: ContentField | undefined;
  point: ContentField | undefined;
  commandArgs: boolean;
}

/** Interpreters whose first non-option argument is the program they run. */
const RUNTIME = /^(?:node|nodejs|bun|deno|python[0-9.]*|pypy[0-9.]*|ruby|perl|php)(?:\.exe)?$/i;

export class ValueRedactor {
  constructor(
    private readonly cfg: RedactorSettings,
    private readonly scrubber: Scrubber,
    private readonly hasher: Hasher | undefined,
    private readonly sinks: RedactorSinks,
  ) {}

  /** A plain string field (span name, status message) scrubbed; undefined when unchanged. */
  scrubField(s: string | undefined, field: string, t: RecordTally): string | undefined {
    if (!s) return undefined;
    t.setField(field);
    const out = this.scrubber.scrub(s, t);
    if (out === s) return undefined;
    t.noteMasked(field);
    return out;
  }

  /** The new attribute list, or undefined when nothing in it changes. */
  attrs(list: KeyValue[] | null | undefined, level: Level, fields: Record<string, ContentField> | undefined, t: RecordTally): KeyValue[] | undefined {
    if (!list || list.length === 0) return undefined;
    let out: KeyValue[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const kv = list[i];
      const r = this.attr(kv, level, fields, t);
      if (r === SAME) {
        out?.push(kv);
        continue;
      }
      if (!out) out = list.slice(0, i);
      if (r !== DROP) out.push({ key: kv.key, value: r });
    }
    return out;
  }

  private attr(kv: KeyValue, level: Level, fields: Record<string, ContentField> | undefined, t: RecordTally): Outcome {
    const key = kv.key;
    const v = kv.value;
    if (!v) return SAME;
    const plan = this.plan(key);
    if (plan.allowed) return SAME;
    t.setField(key);
    if (plan.pseudonymize) return this.pseudonymize(v, key, t);
    if (plan.override) return this.whole(v, key, plan.override, t);
    let cf: ContentField | undefined;
    if (level === 'record') cf = fields?.[key] ?? plan.record;
    else if (level === 'point') cf = plan.point;
    else if (level === 'resource' && plan.commandArgs) return this.commandArgs(v, key, t);
    if (cf) return this.content(v, key, cf, t);
    return this.scrubbed(v, key, t);
  }

  /** What the settings say about an attribute key, remembered (keys repeat in every record). */
  private readonly plan = remembered(
    (key): KeyPlan => ({
      allowed: this.scrubber.allowed(key),
      pseudonymize: this.cfg.pseudonymize.has(key),
      override: this.cfg.overrides.get(key),
      record: RECORD_FIELDS[key],
      point: POINT_FIELDS[key],
      commandArgs: COMMAND_ARGS_KEYS.has(key),
    }),
    1024,
  );

  /** Generic secret scrubbing of an attribute value, noted on the record when it changed. */
  private scrubbed(v: AnyValue, key: string, t: RecordTally): Outcome {
    const r = this.scrubAny(v, key, t);
    if (r !== SAME) t.noteMasked(key);
    return r;
  }

  /** A field action applied to the whole value. */
  private whole(v: AnyValue, key: string, action: Action, t: RecordTally): Outcome {
    switch (action) {
      case 'keep':
        return this.scrubbed(v, key, t);
      case 'drop':
        t.noteDropped(key);
        if (t.counting) this.sinks.field(key, 'drop');
        return DROP;
      case 'mask': {
        if (anyValueKind(v) === 'stringValue' && v.stringValue === this.cfg.maskText) return SAME;
        t.noteMasked(key);
        if (t.counting) this.sinks.field(key, 'mask');
        return { stringValue: this.cfg.maskText };
      }
      case 'hash': {
        const s = stringOf(v) ?? '';
        if (Hasher.isHashed(s)) return SAME;
        t.noteMasked(key);
        if (t.counting) this.sinks.field(key, 'hash');
        return { stringValue: this.hasher!.content(s) };
      }
    }
  }

  private content(v: AnyValue, key: string, cf: ContentField, t: RecordTally): Outcome {
    const primary = this.cfg.actions[cf.category];
    if (cf.shape === 'text' || anyValueKind(v) !== 'stringValue') return this.whole(v, key, primary, t);
    const shape = cf.shape;
    if (SHAPE_CATEGORIES[shape].every((c) => this.cfg.actions[c] === 'keep')) return this.scrubbed(v, key, t);
    const r = rewriteMessageBody(v.stringValue!, shape, this.messageOps(t));
    // Not JSON: the body as a whole is what its field is named for.
    if (r === undefined) return this.whole(v, key, primary, t);
    if (r.text === undefined) return SAME;
    t.noteMasked(key);
    if (t.counting) for (const c of r.touched) this.sinks.field(key, this.cfg.actions[c]);
    return { stringValue: r.text };
  }

  private messageOps(t: RecordTally): MessageOps {
    return {
      action: (c) => this.cfg.actions[c],
      replacement: (value, c) => {
        const a = this.cfg.actions[c];
        if (a === 'mask') return value === this.cfg.maskText ? value : this.cfg.maskText;
        const s = typeof value === 'string' ? value : JSON.stringify(value);
        return Hasher.isHashed(s) ? value : this.hasher!.content(s);
      },
      scrubTree: (holder, member, key) => this.scrubTree(holder, member, key, t),
    };
  }

  /**
   * Scrubs a parsed JSON value in place (holder[member]); true when something changed.
   * Iterative, with its own stack: a hostile body can nest deeper than the call stack.
   */
  private scrubTree(holder: Record<string | number, unknown>, member: string | number, key: string | undefined, t: RecordTally): boolean {
    type Slot = [Record<string | number, unknown>, string | number, string | undefined];
    const stack: Slot[] = [[holder, member, key]];
    let changed = false;
    while (stack.length > 0) {
      const [h, m, k] = stack.pop()!;
      const v = h[m];
      if (typeof v === 'string') {
        const out = this.scrubber.scrubKeyed(v, k, t);
        if (out !== v) {
          h[m] = out;
          changed = true;
        }
      } else if (typeof v === 'number') {
        if (k === undefined || this.scrubber.allowed(k)) continue;
        const det = this.scrubber.keyDetector(k);
        if (det === undefined) continue;
        t.secret(det);
        h[m] = mark(det);
        changed = true;
      } else if (Array.isArray(v)) {
        // Elements are found under the array's own key.
        for (let i = v.length - 1; i >= 0; i--) stack.push([v as unknown as Record<number, unknown>, i, k]);
      } else if (v !== null && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        for (let i = keys.length - 1; i >= 0; i--) {
          const name = keys[i];
          if (this.scrubber.allowed(name)) continue;
          stack.push([o, name, name]);
          // A key is a string too: one holding a secret is renamed (the value moves with it).
          const renamed = this.scrubber.scrub(name, t);
          if (renamed !== name) {
            o[renamed] = o[name];
            delete o[name];
            stack[stack.length - 1] = [o, renamed, name];
            changed = true;
          }
        }
      }
    }
    return changed;
  }

  /** Gemini CLI's command line: reduced to the program (its prompt rides in the arguments). */
  private commandArgs(v: AnyValue, key: string, t: RecordTally): Outcome {
    const mode = this.cfg.commandArgs;
    if (mode === 'keep') return this.scrubbed(v, key, t);
    if (mode === 'drop') return this.whole(v, key, 'drop', t);
    let next: AnyValue;
    const kind = anyValueKind(v);
    if (kind === 'arrayValue') {
      const args = (v.arrayValue!.values ?? []).map((x) => stringOf(x) ?? '');
      const kept = programOf(args);
      if (kept.length === args.length) return this.scrubbed(v, key, t);
      next = { arrayValue: { values: kept.map((a) => ({ stringValue: a })) } };
    } else if (kind === 'stringValue') {
      const args = v.stringValue!.trim().split(/\s+/);
      const kept = programOf(args);
      if (kept.length === args.length) return this.scrubbed(v, key, t);
      next = { stringValue: kept.join(' ') };
    } else {
      return this.scrubbed(v, key, t);
    }
    t.noteMasked(key);
    if (t.counting) this.sinks.field(key, 'program');
    const scrubbed = this.scrubAny(next, key, t);
    return scrubbed === SAME ? next : scrubbed;
  }

  private pseudonymize(v: AnyValue, key: string, t: RecordTally): Outcome {
    const p = (s: string) => this.hasher!.pseudonym(s, this.cfg.keepEmailDomain);
    let next: AnyValue | undefined;
    switch (anyValueKind(v)) {
      case 'stringValue':
        if (v.stringValue !== '') next = { stringValue: p(v.stringValue!) };
        break;
      case 'intValue':
        next = { stringValue: p(String(int64Value(v.intValue))) };
        break;
      case 'doubleValue':
        next = { stringValue: p(String(v.doubleValue)) };
        break;
      case 'arrayValue': {
        const one = (x: AnyValue) => {
          const s = stringOf(x);
          return s === undefined || s === '' ? x : { stringValue: p(s) };
        };
        next = { arrayValue: { values: (v.arrayValue!.values ?? []).map(one) } };
        break;
      }
      default:
        return this.scrubbed(v, key, t);
    }
    if (!next) return SAME;
    if (t.counting) this.sinks.field(key, 'pseudonymize');
    return next;
  }

  /** Secret scrubbing of any value, `key` being what it is found under (for name-based detection). */
  scrubAny(v: AnyValue, key: string | undefined, t: RecordTally): Outcome {
    switch (anyValueKind(v)) {
      case 'stringValue': {
        const s = v.stringValue!;
        const out = this.scrubber.scrubKeyed(s, key, t);
        return out === s ? SAME : { stringValue: out };
      }
      case 'intValue':
      case 'doubleValue': {
        if (key === undefined) return SAME;
        const det = this.scrubber.keyDetector(key);
        if (det === undefined) return SAME;
        t.secret(det);
        return { stringValue: mark(det) };
      }
      case 'arrayValue': {
        const vals = v.arrayValue!.values ?? [];
        let out: AnyValue[] | undefined;
        for (let i = 0; i < vals.length; i++) {
          const x = vals[i];
          const r = x ? this.scrubAny(x, key, t) : SAME;
          if (r === SAME || r === DROP) {
            out?.push(x);
            continue;
          }
          if (!out) out = vals.slice(0, i);
          out.push(r);
        }
        return out ? { arrayValue: { values: out } } : SAME;
      }
      case 'kvlistValue': {
        const kvs = v.kvlistValue!.values ?? [];
        let out: KeyValue[] | undefined;
        for (let i = 0; i < kvs.length; i++) {
          const kv = kvs[i];
          let r: Outcome = SAME;
          if (kv.value && !this.scrubber.allowed(kv.key)) {
            r = this.cfg.pseudonymize.has(kv.key) ? this.pseudonymize(kv.value, kv.key, t) : this.scrubAny(kv.value, kv.key, t);
          }
          if (r === SAME || r === DROP) {
            out?.push(kv);
            continue;
          }
          if (!out) out = kvs.slice(0, i);
          out.push({ key: kv.key, value: r });
        }
        return out ? { kvlistValue: { values: out } } : SAME;
      }
      default:
        return SAME;
    }
  }
}

/** argv[0], and for an interpreter (node, python…) the program it runs. */
export function programOf(args: string[]): string[] {
  if (args.length === 0) return [];
  const out = [args[0]];
  const base = args[0].slice(Math.max(args[0].lastIndexOf('/'), args[0].lastIndexOf('\\')) + 1);
  if (RUNTIME.test(base)) {
    for (let i = 1; i < args.length; i++) {
      if (args[i].startsWith('-')) continue;
      out.push(args[i]);
      break;
    }
  }
  return out;
}
