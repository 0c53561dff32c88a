// Which attribute keys the cardinality processor removes from a metric: the global
// `strip` lists plus every rule whose metric-name patterns (and optional condition)
// match. The decision depends only on the metric name and, for rules with a
// condition, on the resource and scope, so it is made once per metric, not per point.
import { RE2JS } from 're2js';
import { s, type Schema, type SchemaType } from '../../src/config/schema';
import { conditionSchema, type Condition } from '../../src/conditions';
import type { KeyValue, Metric, Resource, Scope } from '../../src/otlp/model';
import { attrsKey } from './keys';

/**
 * Removed by default. prompt.id (Claude Code) and prompt_id (Gemini CLI) make one
 * series per prompt; session.id (Claude Code, Gemini CLI) and installation.id (Gemini
 * CLI) one per session or machine. They stay on logs and spans.
 */
export const DEFAULT_POINT_KEYS = ['prompt.id', 'prompt_id', 'session.id', 'installation.id'];
/** Gemini CLI puts session.id and process.pid on the resource of its metrics. */
export const DEFAULT_RESOURCE_KEYS = ['session.id', 'installation.id', 'process.pid'];

export const GAUGE_MODES = ['last', 'sum', 'max', 'min'] as const;
export type GaugeMode = (typeof GAUGE_MODES)[number];

/** One RE2 pattern or a list of them; checked at validation, compiled at start-up. */
export function patternsSchema(what: string): Schema<string[]> {
  return s.custom<string[]>(
    `RE2 pattern or list of RE2 patterns (${what})`,
    (v, path, ctx) => {
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list)) {
        ctx.issues.push({ path, severity: 'error', message: `expected a pattern or a list of patterns, got ${v === null ? 'null' : typeof v}` });
        return undefined;
      }
      const before = ctx.issues.length;
      list.forEach((p, i) => {
        const at = typeof v === 'string' ? path : [...path, i];
        if (typeof p !== 'string' || p === '') {
          ctx.issues.push({ path: at, severity: 'error', message: 'expected a non-empty pattern string' });
          return;
        }
        try {
          RE2JS.compile(p);
        } catch (e) {
          ctx.issues.push({ path: at, severity: 'error', message: `invalid regular expression ${JSON.stringify(p)}: ${(e as Error).message.replace(/^error parsing regexp: /, '')}` });
        }
      });
      return ctx.issues.length === before ? (list as string[]) : undefined;
    },
    [],
  );
}

const keyList = (def: string[]) => s.list(s.string({ nonEmpty: true }), { default: def });

export const stripSchema = s.object({
  attributes: keyList(DEFAULT_POINT_KEYS),
  patterns: patternsSchema('searched in data-point attribute keys'),
  resource_attributes: keyList(DEFAULT_RESOURCE_KEYS),
  resource_patterns: patternsSchema('searched in resource attribute keys'),
});

export const ruleSchema = s.object({
  metrics: patternsSchema('searched in the metric name'),
  condition: conditionSchema,
  attributes: keyList([]),
  patterns: patternsSchema('searched in data-point attribute keys'),
  resource_attributes: keyList([]),
  resource_patterns: patternsSchema('searched in resource attribute keys'),
  gauge: s.oneOf<GaugeMode>(GAUGE_MODES),
});

export type StripConfig = SchemaType<typeof stripSchema>;
export type RuleConfig = SchemaType<typeof ruleSchema>;

const compile = (ps: readonly string[]) => ps.map((p) => RE2JS.compile(p));

/** Attribute keys to remove at one level; answers are cached per key (keys are few). */
export class KeyMatcher {
  private readonly cache = new Map<string, boolean>();
  readonly empty: boolean;

  constructor(private readonly keys: ReadonlySet<string>, private readonly patterns: readonly RE2JS[]) {
    this.empty = keys.size === 0 && patterns.length === 0;
  }

  matches(key: string): boolean {
    if (this.keys.has(key)) return true;
    if (this.patterns.length === 0) return false;
    let hit = this.cache.get(key);
    if (hit === undefined) {
      hit = this.patterns.some((re) => re.test(key));
      if (this.cache.size < 10000) this.cache.set(key, hit);
    }
    return hit;
  }
}

export interface StripSet {
  point: KeyMatcher;
  resource: KeyMatcher;
  gauge: GaugeMode;
}

export interface Stripped {
  /** The attributes left; the very same array when nothing was removed. */
  kept: KeyValue[];
  /** Key of the removed attributes ('' when none): what told the merged sources apart. */
  removed: string;
}

const NOTHING_REMOVED = '';

export function stripAttributes(attrs: KeyValue[] | null | undefined, m: KeyMatcher): Stripped {
  const list = attrs ?? [];
  if (m.empty) return { kept: list, removed: NOTHING_REMOVED };
  let first = -1;
  for (let i = 0; i < list.length; i++) {
    if (m.matches(list[i].key)) {
      first = i;
      break;
    }
  }
  if (first < 0) return { kept: list, removed: NOTHING_REMOVED };
  const kept = list.slice(0, first);
  const removed: KeyValue[] = [list[first]];
  for (let i = first + 1; i < list.length; i++) (m.matches(list[i].key) ? removed : kept).push(list[i]);
  return { kept, removed: attrsKey(removed) };
}

interface CompiledRule {
  names: RE2JS[];
  condition?: Condition;
  point: { keys: string[]; patterns: RE2JS[] };
  resource: { keys: string[]; patterns: RE2JS[] };
  gauge?: GaugeMode;
}

/** Resolves the StripSet of each metric. */
export class StripRules {
  private readonly base: CompiledRule;
  private readonly rules: CompiledRule[];
  private readonly byName = new Map<string, number[]>();
  private readonly sets = new Map<string, StripSet>();
  private readonly anyCondition: boolean;

  constructor(strip: StripConfig, rules: RuleConfig[], private readonly gauge: GaugeMode) {
    this.base = {
      names: [],
      point: { keys: strip.attributes, patterns: compile(strip.patterns) },
      resource: { keys: strip.resource_attributes, patterns: compile(strip.resource_patterns) },
    };
    this.rules = rules.map((r) => ({
      names: compile(r.metrics),
      condition: r.condition,
      point: { keys: r.attributes, patterns: compile(r.patterns) },
      resource: { keys: r.resource_attributes, patterns: compile(r.resource_patterns) },
      gauge: r.gauge,
    }));
    this.anyCondition = this.rules.some((r) => r.condition);
  }

  private namedRules(name: string): number[] {
    let hit = this.byName.get(name);
    if (hit === undefined) {
      hit = [];
      for (let i = 0; i < this.rules.length; i++) {
        const r = this.rules[i];
        if (r.names.length === 0 || r.names.some((re) => re.test(name))) hit.push(i);
      }
      // Metric names are few; a flood of distinct names only costs the recomputation.
      if (this.byName.size >= 10000) this.byName.clear();
      this.byName.set(name, hit);
    }
    return hit;
  }

  setFor(resource: Resource | null | undefined, scope: Scope | null | undefined, metric: Metric): StripSet {
    let idx = this.namedRules(metric.name ?? '');
    if (this.anyCondition && idx.length) {
      idx = idx.filter((i) => {
        const c = this.rules[i].condition;
        return !c || c({ signal: 'metrics', resource, scope, metric });
      });
    }
    const key = idx.join(',');
    let set = this.sets.get(key);
    if (!set) {
      const parts = [this.base, ...idx.map((i) => this.rules[i])];
      const level = (pick: (r: CompiledRule) => { keys: string[]; patterns: RE2JS[] }) =>
        new KeyMatcher(new Set(parts.flatMap((r) => pick(r).keys)), parts.flatMap((r) => pick(r).patterns));
      set = {
        point: level((r) => r.point),
        resource: level((r) => r.resource),
        gauge: parts.find((r) => r.gauge)?.gauge ?? this.gauge,
      };
      this.sets.set(key, set);
    }
    return set;
  }
}
