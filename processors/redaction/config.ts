// The redaction processor's config: the schema (every default is a safe one that needs
// no key), and the checks across fields: a key of at least 32 bytes wherever `hash` or
// pseudonymization is used, known detector names, user patterns that compile in RE2.
import { RE2JS } from 're2js';
import { s, type Ctx, type SchemaType } from '../../src/config/schema';
import { ACTIONS, CATEGORIES, type Action, type Category } from './content';
import { BUILTIN_DETECTORS } from './detectors';
import type { UserPattern } from './scrubber';

export const MIN_KEY_BYTES = 32;
export const COMMAND_ARGS_MODES = ['program', 'keep', 'drop'] as const;
export const SUMMARY_LEVELS = ['silent', 'info', 'debug'] as const;

const action = (def: Action) => s.oneOf<Action>(ACTIONS, { default: def });

const patternSchema = s.object(
  {
    name: s.string({ nonEmpty: true }),
    regex: s.string({ nonEmpty: true }),
    group: s.number({ default: 0, min: 0, integer: true }),
  },
  { required: ['name', 'regex'] },
);

const props = {
    key: s.string({ default: '' }),
    mask_text: s.string({ default: '[REDACTED]', nonEmpty: true }),
    content: s.object({
      prompt: action('mask'),
      response: action('mask'),
      tool_arguments: action('keep'),
      tool_output: action('mask'),
      system_instructions: action('keep'),
      command_args: s.oneOf<(typeof COMMAND_ARGS_MODES)[number]>(COMMAND_ARGS_MODES, { default: 'program' }),
    }),
    fields: s.map(s.oneOf<Action>(ACTIONS), { default: {} }),
    allow_keys: s.list(s.string({ nonEmpty: true }), { default: [] }),
    secrets: s.object({
      disabled: s.list(s.string(), { default: [] }),
      patterns: s.list(patternSchema, { default: [] }),
    }),
    pseudonymize: s.object({
      attributes: s.list(s.string({ nonEmpty: true }), { default: [] }),
      keep_email_domain: s.bool({ default: false }),
    }),
    summary: s.oneOf<(typeof SUMMARY_LEVELS)[number]>(SUMMARY_LEVELS, { default: 'silent' }),
};

export type RedactionConfig = SchemaType<ReturnType<typeof s.object<typeof props>>>;

export const schema = s.object(props, { validate: crossCheck });

function crossCheck(c: RedactionConfig, path: (string | number)[], ctx: Ctx): void {
  const err = (p: (string | number)[], message: string) => ctx.issues.push({ path: [...path, ...p], message, severity: 'error' });

  // Where a key is needed, say which setting needs it.
  const needs: string[] = [];
  for (const cat of CATEGORIES) if (c.content[cat] === 'hash') needs.push(`content.${cat}: hash`);
  for (const [k, a] of Object.entries(c.fields)) if (a === 'hash') needs.push(`fields.${k}: hash`);
  if (c.pseudonymize.attributes.length > 0) needs.push('pseudonymize.attributes');
  const keyBytes = Buffer.byteLength(c.key, 'utf8');
  if (needs.length > 0 && keyBytes === 0)
    err(['key'], `is required by ${needs.join(', ')}: a secret of at least ${MIN_KEY_BYTES} bytes, e.g. key: \${env:AGENTRELAY_REDACTION_KEY}`);
  else if (keyBytes > 0 && keyBytes < MIN_KEY_BYTES)
    err(['key'], `must be at least ${MIN_KEY_BYTES} bytes, got ${keyBytes} (generate one with: openssl rand -hex 32)`);

  const known: readonly string[] = BUILTIN_DETECTORS;
  c.secrets.disabled.forEach((name, i) => {
    if (!known.includes(name)) err(['secrets', 'disabled', i], `unknown detector "${name}" (known: ${known.join(', ')})`);
  });

  const seen = new Set<string>();
  c.secrets.patterns.forEach((p, i) => {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(p.name)) err(['secrets', 'patterns', i, 'name'], `must be lower-case letters, digits, - and _, got ${JSON.stringify(p.name)}`);
    else if (known.includes(p.name)) err(['secrets', 'patterns', i, 'name'], `"${p.name}" is a built-in detector's name`);
    else if (seen.has(p.name)) err(['secrets', 'patterns', i, 'name'], `"${p.name}" is used by another pattern`);
    seen.add(p.name);
    const compiled = compilePattern(p.regex);
    if (typeof compiled === 'string') {
      err(['secrets', 'patterns', i, 'regex'], compiled);
      return;
    }
    if (p.group > compiled.groupCount()) err(['secrets', 'patterns', i, 'group'], `the pattern has ${compiled.groupCount()} group(s), not ${p.group}`);
    else if (compiled.matcher('').find()) err(['secrets', 'patterns', i, 'regex'], 'matches the empty string, so it would match everywhere');
  });

  for (const k of c.pseudonymize.attributes)
    if (c.allow_keys.includes(k)) err(['pseudonymize', 'attributes'], `"${k}" is also in allow_keys, which leaves it untouched`);
}

/** An RE2 pattern, or the reason it does not compile. */
function compilePattern(regex: string): RE2JS | string {
  try {
    return RE2JS.compile(regex);
  } catch (e) {
    return `invalid regular expression ${JSON.stringify(regex)}: ${(e as Error).message.replace(/^error parsing regexp: /, '')}`;
  }
}

/** The user patterns of a checked config, compiled. */
export function userPatterns(c: RedactionConfig): UserPattern[] {
  return c.secrets.patterns.map((p) => ({ name: p.name, re: compilePattern(p.regex) as RE2JS, group: p.group }));
}

export type Actions = Record<Category, Action>;
