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
        secret: (detector, field, n) => pending.add(pendingSecrets, field, detector, n),
        field: (field, action) => pending.add(pendingFields, field, action, 1),
      },
    );
    // Counts are gathered over a batch and handed to the counters once per label set at its
    // end: a counter call per record and field costs more than the redaction of short values.
    const pendingSecrets = new Map<string, Map<string, number>>();
    const pendingFields = new Map<string, Map<string, number>>();
    const pending = {
      add(into: Map<string, Map<string, number>>, field: string, what: string, n: number) {
        let byWhat = into.get(field);
        if (!byWhat) into.set(field, (byWhat = new Map()));
        byWhat.set(what, (byWhat.get(what) ?? 0) + n);
      },
      flush() {
        for (const [field, byDetector] of pendingSecrets) for (const [detector, n] of byDetector) secrets(n, { ...base, detector, field: label(field) });
        for (const [field, byAction] of pendingFields) for (const [action, n] of byAction) fields(n, { ...base, field: label(field), action });
        pendingSecrets.clear();
        pendingFields.clear();
      },
    };

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
          pending.flush();
          // Never forward what could not be redacted; refuse it for good, so the sender does not retry it.
          // Only the error's kind is reported: a runtime message can quote the data it choked on.
          const kind = e instanceof Error ? e.name : typeof e;
          ctx.logger.error({ error: kind, signal: batch.signal }, 'redaction failed; the request is refused, not forwarded');
          throw new DeliveryError(`redaction failed (${kind}); the request was not forwarded`, false);
        }
        pending.flush();
        await next.consume(batch);
      },
    };
  },
};
