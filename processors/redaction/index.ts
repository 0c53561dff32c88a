// redaction: keeps prompts, model responses and credentials out of what the relay sends
// on. Content fields of Claude Code, Codex CLI and Gemini CLI get a per-category action
// (masked by default), every other string is scrubbed of secrets by built-in and
// user-defined detectors, chosen identity attributes are pseudonymized with a keyed
// hash, and what was redacted is counted (never logged). See README.md.
import { DeliveryError, type ProcessorFactory } from '../../src/pipeline/component';
import { CATEGORIES, type Action, type Category } from './content';
import { schema, userPatterns, type RedactionConfig } from './config';
import { Hasher } from './identity';
import { Redactor } from './redactor';
import { Scrubber } from './scrubber';

export type { RedactionConfig } from './config';

/** Distinct `field` label values per counter before the rest are counted as `other`. */
const MAX_FIELD_LABELS = 100;

export const redactionProcessor: ProcessorFactory<RedactionConfig> = {
  type: 'redaction',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    const scrubber = new Scrubber({
      disabled: new Set(config.secrets.disabled),
      patterns: userPatterns(config),
      allowKeys: new Set(config.allow_keys),
    });
    const hasher = config.key ? new Hasher(Buffer.from(config.key, 'utf8')) : undefined;
    const actions = Object.fromEntries(CATEGORIES.map((c) => [c, config.content[c]])) as Record<Category, Action>;

    const secrets = ctx.telemetry.counter('redaction_secrets', 'Secrets a redaction processor replaced, by detector and top-level field');
    const fields = ctx.telemetry.counter(
      'redaction_fields',
      'Content and identity fields a redaction processor dropped, masked, hashed, reduced or pseudonymized, by field and action',
    );
    const base = { component: ctx.id, signal: ctx.signal };
    // Field labels are attribute keys: bounded for the agents, but not for arbitrary senders.
    const seen = new Set<string>();
    const label = (field: string) => {
      if (seen.has(field)) return field;
      if (seen.size >= MAX_FIELD_LABELS) return 'other';
      seen.add(field);
      return field;
    };

    const redactor = new Redactor(
      {
        actions,
        commandArgs: config.content.command_args,
        maskText: config.mask_text,
        overrides: new Map(Object.entries(config.fields)),
        pseudonymize: new Set(config.pseudonymize.attributes),
        keepEmailDomain: config.pseudonymize.keep_email_domain,
        summary: config.summary,
      },
      scrubber,
      hasher,
      {
        secret: (detector, field, n) => secretSeries(field, detector)(n),
        field: (field, action) => fieldSeries(field, action)(1),
      },
    );
    // One adder per label set, found once: building the label set per record and field
    // cost more than the redaction of short values.
    const bySeries = (counter: typeof secrets, labels: (field: string, what: string) => Record<string, string>) => {
      const adders = new Map<string, Map<string, (n: number) => void>>();
      return (field: string, what: string) => {
        let byWhat = adders.get(field);
        if (!byWhat) {
          // Field names come from the senders: the memory is bounded (the series are, by label()).
          if (adders.size >= MAX_FIELD_LABELS * 10) adders.clear();
          adders.set(field, (byWhat = new Map()));
        }
        let add = byWhat.get(what);
        if (!add) byWhat.set(what, (add = counter.series(labels(field, what))));
        return add;
      };
    };
    const secretSeries = bySeries(secrets, (field, detector) => ({ ...base, detector, field: label(field) }));
    const fieldSeries = bySeries(fields, (field, action) => ({ ...base, field: label(field), action }));

    ctx.logger.debug(
      {
        pipeline: ctx.pipeline,
        content: config.content,
        disabled: config.secrets.disabled,
        patterns: config.secrets.patterns.map((p) => p.name),
        pseudonymize: config.pseudonymize.attributes,
      },
      'redaction configured',
    );

    return {
      async consume(batch) {
        try {
          // Read-only first: a batch with nothing to redact goes on untouched, with its original bytes.
          if (await redactor.walk(batch.signal, batch.read(), false)) await redactor.walk(batch.signal, batch.editRecords(), true);
        } catch (e) {
          // Never forward what could not be redacted; refuse it for good, so the sender does not retry it.
          // Only the error's kind is reported: a runtime message can quote the data it choked on.
          const kind = e instanceof Error ? e.name : typeof e;
          ctx.logger.error({ error: kind, signal: batch.signal }, 'redaction failed; the request is refused, not forwarded');
          throw new DeliveryError(`redaction failed (${kind}); the request was not forwarded`, false);
        }
        await next.consume(batch);
      },
    };
  },
};
