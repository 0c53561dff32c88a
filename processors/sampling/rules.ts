// Keep and drop rules: named conditions in the relay's one condition syntax. The
// built-in ones are written here as the YAML a user would write (the README lists
// the same text, and a test holds the two equal).
import type { Ctx } from '../../src/config/schema';
import { compileCondition, type Condition } from '../../src/conditions';

export interface Rule {
  /** The `rule` label of the self-metrics. */
  name: string;
  test: Condition;
}

type Path = (string | number)[];

/** Always kept, before any sampling: the audit trail and what people debug with. */
export const DEFAULT_KEEP_RULES: Record<string, unknown> = {
  // Claude Code tool_decision, Codex codex.tool_decision, Gemini CLI gemini_cli.tool_call (its `decision` attribute).
  tool_decision: { any: [{ event: 'tool_decision' }, { event: 'gemini_cli.tool_call' }] },
  // Claude Code api_error, Gemini CLI gemini_cli.api_error; Codex reports failures on codex.api_request.
  api_error: {
    any: [
      { event: 'api_error' },
      {
        all: [
          { event: 'codex.api_request' },
          {
            any: [
              { attribute: 'error.message', exists: true },
              { attribute: 'http.response.status_code', lt: 200 },
              { attribute: 'http.response.status_code', gte: 300 },
            ],
          },
        ],
      },
    ],
  },
  warning_or_above: { severity_at_least: 'WARN' },
  span_error: { field: 'status', equals: 'error' },
};

/** Pure noise, dropped unless a keep rule matched first. */
export const DEFAULT_DROP_RULES: Record<string, unknown> = {
  // One Codex record per streamed chunk; response.completed (with the token counts) stays.
  codex_sse_delta: { all: [{ event: 'codex.sse_event' }, { attribute: 'event.kind', matches: '\\.delta$' }] },
};

/** The built-in rules, compiled once. */
export function builtinRules(defs: Record<string, unknown>): Rule[] {
  const ctx: Ctx = { issues: [] };
  const rules = Object.entries(defs).map(([name, c]) => ({ name, test: compileCondition(c, ['builtin', name], ctx)! }));
  if (ctx.issues.length) throw new Error(`built-in sampling rule does not compile: ${ctx.issues[0].message}`);
  return rules;
}

const RULE_KEYS = ['name', 'condition'];

/**
 * One user rule: `{name: NAME, condition: COND}`, or a bare condition (named
 * `<list>.<index>`, e.g. `keep.2`).
 */
export function checkRule(list: 'keep' | 'drop') {
  return (v: unknown, path: Path, ctx: Ctx): Rule | undefined => {
    const index = path[path.length - 1];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'condition' in v) {
      const m = v as Record<string, unknown>;
      const before = ctx.issues.length;
      for (const k of Object.keys(m))
        if (!RULE_KEYS.includes(k))
          ctx.issues.push({ path: [...path, k], severity: 'error', message: `unknown key (a rule has ${RULE_KEYS.join(' and ')})` });
      let name = `${list}.${index}`;
      if (m.name !== undefined) {
        if (typeof m.name !== 'string' || m.name === '')
          ctx.issues.push({ path: [...path, 'name'], severity: 'error', message: 'expected a non-empty string' });
        else name = m.name;
      }
      const test = compileCondition(m.condition, [...path, 'condition'], ctx);
      return ctx.issues.length === before && test ? { name, test } : undefined;
    }
    const test = compileCondition(v, path, ctx);
    return test ? { name: `${list}.${index}`, test } : undefined;
  };
}

/** The first rule that matches, or -1. */
export function firstMatch(rules: readonly Rule[], r: Parameters<Condition>[0]): number {
  for (let i = 0; i < rules.length; i++) if (rules[i].test(r)) return i;
  return -1;
}
