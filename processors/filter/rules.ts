// One filter rule: `include` and `exclude`, each a list of conditions of which any one
// may match (as the Collector's filter processor: with include set, a record is kept
// only if it matches an include condition; a record matching an exclude condition is
// dropped). Compiled at start-up into a single keep() predicate.
import type { Ctx, Schema } from '../../src/config/schema';
import { compileCondition, type Condition } from '../../src/conditions';

export interface Rule {
  /** True when the record stays. */
  keep: Condition;
}

type Path = (string | number)[];

function anyOf(fns: Condition[]): Condition {
  if (fns.length === 1) return fns[0];
  return (r) => {
    for (let i = 0; i < fns.length; i++) if (fns[i](r)) return true;
    return false;
  };
}

/** A list of conditions (any may match), or one condition as a map. */
function checkConditions(v: unknown, path: Path, ctx: Ctx): Condition | undefined {
  const before = ctx.issues.length;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return compileCondition(v, path, ctx);
  if (!Array.isArray(v)) {
    ctx.issues.push({ path, severity: 'error', message: 'expected a list of conditions (any one of them matches), or one condition' });
    return undefined;
  }
  if (v.length === 0) {
    ctx.issues.push({ path, severity: 'error', message: 'needs at least one condition (leave the key out to match nothing)' });
    return undefined;
  }
  const fns = v.map((x, i) => compileCondition(x, [...path, i], ctx));
  return ctx.issues.length === before ? anyOf(fns as Condition[]) : undefined;
}

const KEYS = ['include', 'exclude'];

/** `{include: [...], exclude: [...]}`; absent or empty means no rule (everything stays). */
export const ruleSchema: Schema<Rule | undefined> = {
  describe: 'map with include and/or exclude (lists of conditions)',
  check(v, path, ctx) {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      ctx.issues.push({ path, severity: 'error', message: 'expected a map with include and/or exclude, each a list of conditions' });
      return undefined;
    }
    const m = v as Record<string, unknown>;
    for (const k of Object.keys(m))
      if (!KEYS.includes(k)) ctx.issues.push({ path: [...path, k], severity: 'error', message: `unknown key (known: ${KEYS.join(', ')})` });
    const inc = m.include === undefined || m.include === null ? undefined : checkConditions(m.include, [...path, 'include'], ctx);
    const exc = m.exclude === undefined || m.exclude === null ? undefined : checkConditions(m.exclude, [...path, 'exclude'], ctx);
    if (!inc && !exc) return undefined;
    if (inc && exc) return { keep: (r) => inc(r) && !exc(r) };
    if (inc) return { keep: inc };
    return { keep: (r) => !exc!(r) };
  },
};
