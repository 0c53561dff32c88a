// sampling: keeps what must survive (tool decisions, errors, warnings: keep rules),
// removes pure noise (drop rules), and samples the rest consistently by prompt cycle
// and trace, marking what it kept with its sampling probability. Logs and traces
// only: metrics are never sampled. See README.md in this folder.
import { s, type Ctx, type Schema, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { checkRule, type Rule } from './rules';
import { DEFAULT_KEY } from './keys';
import { Sampler, Tally } from './sampler';

type Path = (string | number)[];

const percentage = (def?: number) => s.number({ default: def, min: 0, max: 100 });

function ruleList(list: 'keep' | 'drop'): Schema<Rule[]> {
  return s.list(s.custom<Rule>('rule: a condition, or {name, condition}', checkRule(list)), { default: [] });
}

/** Attribute names: a non-empty list of non-empty strings. */
function attributeNames(def: readonly string[]): Schema<string[]> {
  return s.list(s.string({ nonEmpty: true }), { default: [...def], minItems: 1 });
}

/** Event names map to percentages; the names follow the `event:` matching rules of conditions. */
const eventPercentages: Schema<Record<string, number>> = s.custom(
  'map of event name to percentage',
  (v: unknown, path: Path, ctx: Ctx) => {
    if (v === null || v === undefined) return {};
    const inner = s.map(percentage());
    const before = ctx.issues.length;
    const out = inner.check(v, path, ctx);
    if (out) for (const k of Object.keys(out)) if (k.trim() === '') ctx.issues.push({ path: [...path, k], severity: 'error', message: 'an event name must not be empty' });
    return ctx.issues.length === before ? out : undefined;
  },
  {},
);

const schema = s.object({
  sampling_percentage: percentage(100),
  event_percentages: eventPercentages,
  keep_defaults: s.bool({ default: true }),
  keep: ruleList('keep'),
  drop_defaults: s.bool({ default: true }),
  drop: ruleList('drop'),
  sampling_key: s.object({
    session: attributeNames(DEFAULT_KEY.session),
    prompt: attributeNames(DEFAULT_KEY.prompt),
  }),
});

export type SamplingConfig = SchemaType<typeof schema>;

export const samplingProcessor: ProcessorFactory<SamplingConfig> = {
  type: 'sampling',
  schema,
  signals: ['logs', 'traces'],
  create(config, ctx, next) {
    const sampler = new Sampler(config);
    const decisions = ctx.telemetry.counter(
      'sampling_decisions',
      'Log records and spans the sampling processor kept or dropped, by decision, reason (keep_rule, drop_rule, sampled) and rule',
    );
    return {
      async consume(batch) {
        if (batch.isEmpty()) return;
        const tally = new Tally();
        const out = sampler.process(batch, tally);
        for (const e of tally.counts.values())
          decisions(e.n, { component: ctx.id, signal: ctx.signal, decision: e.decision, reason: e.reason, rule: e.rule });
        const dropRule = tally.total('dropped', 'drop_rule');
        const sampled = tally.total('dropped', 'sampled');
        if (dropRule) ctx.telemetry.add('processor_dropped_items', dropRule, { component: ctx.id, signal: ctx.signal, reason: 'drop_rule' });
        if (sampled) ctx.telemetry.add('processor_dropped_items', sampled, { component: ctx.id, signal: ctx.signal, reason: 'sampled' });
        if (out) await next.consume(out);
      },
    };
  },
};
