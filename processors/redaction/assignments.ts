// Secrets recognised by the name they are assigned to rather than by their shape:
// `SLACK_BOT_TOKEN=…`, `export DB_PASSWORD='…'`, `"openai_api_key": "…"`, `api-key: …`,
// an OTLP attribute or JSON member whose key is such a name. Any name containing TOKEN,
// SECRET, PASSWORD, PASSWD, API_KEY/APIKEY/API-KEY, ACCESS_KEY or PRIVATE_KEY, in any
// case, whatever the value looks like. AWS secret access keys are one of these
// (`AWS_SECRET_ACCESS_KEY=…`, `"SecretAccessKey": …`) and are reported under their own
// detector name.
//
// Token counts are not secrets: a TOKEN name followed by s, count, usage, type, limit,
// ize… (`max_tokens`, `input_token_count`, `promptTokenCount`, `gen_ai.token.type`,
// `tokenizer`) is not a secret name, unless it also holds another keyword.
//
// The scanner is hand-written so that it is linear: the keyword is found with a regexp
// of short literals, the name around it is read once (the backward read stops where the
// previous name ended), and the search resumes after the name or value just read.
import { remembered } from './remember';
import { mark, MARKER_PREFIX } from './detectors';
import type { Tally } from './tally';

const KEYWORD = /token|secret|passw(?:or)?d|api[_-]?key|access[_-]?key|private[_-]?key/gi;
const KEYWORD_IN_NAME = /token|secret|passw(?:or)?d|api[_-]?key|access[_-]?key|private[_-]?key/g;
const COUNT_SUFFIX = /^(?:s|count|usage|type|limit|ize|budget|estimat|len|cost)/;

/** Letters, digits, `_`, `.` and `-`: what a variable, key or header name is made of. */
function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45;
}

/** True when `name` (any case) names a secret, by the rules above. */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  KEYWORD_IN_NAME.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = KEYWORD_IN_NAME.exec(lower)) !== null) {
    if (m[0] !== 'token') return true;
    const rest = lower.slice(m.index + 5).replace(/^[_.-]+/, '');
    if (!COUNT_SUFFIX.test(rest)) return true;
  }
  return false;
}

/** An AWS secret access key's name: secret_access_key in it, or aws and secret. */
export function isAwsSecretName(name: string): boolean {
  const flat = name.toLowerCase().replace(/[_.-]/g, '');
  return flat.includes('secretaccesskey') || (flat.includes('aws') && flat.includes('secret'));
}

/** Which detector a value named `name` falls to, or undefined (not a secret name, or that detector is off). */
export type NameLabeler = (name: string) => string | undefined;

/** Names repeat (the same keys in every record), so their verdicts are remembered, up to this many. */
const LABEL_CACHE_SIZE = 512;

export function nameLabeler(awsOn: boolean, assignmentOn: boolean): NameLabeler {
  return remembered((name) => {
    if (!isSecretName(name)) return undefined;
    if (awsOn && isAwsSecretName(name)) return 'aws-secret-access-key';
    return assignmentOn ? 'secret-assignment' : undefined;
  }, LABEL_CACHE_SIZE);
}

/** The name of an HTTP authorization header (its value is `<scheme> <credential>`). */
export function isAuthorizationName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'authorization' || lower.endsWith('.authorization') || lower.endsWith('-authorization') || lower.endsWith('_authorization');
}

const SCHEME = /^([ \t]*(?:bearer|basic|token|bot|digest|negotiate|apikey)[ \t]+)\S/i;

/** An authorization value with its credential replaced; the scheme word stays. */
export function redactAuthorizationValue(v: string): string {
  const m = SCHEME.exec(v);
  return m ? m[1] + mark('authorization') : mark('authorization');
}

const BLANK = (c: string | undefined) => c === ' ' || c === '\t';
const QUOTE = (c: string | undefined) => c === '"' || c === "'";

/** Characters that end an unquoted value after `=` (shell and env forms). */
function endsShellValue(c: number): boolean {
  // whitespace " ' ` ; & | < > ( ) { } [ ] , \
  return (
    c <= 32 || c === 34 || c === 39 || c === 96 || c === 59 || c === 38 || c === 124 || c === 60 || c === 62 ||
    c === 40 || c === 41 || c === 123 || c === 125 || c === 91 || c === 93 || c === 44 || c === 92
  );
}

/** Characters that end an unquoted value after `:` (YAML, headers): the line, or a JSON delimiter. */
function endsColonValue(c: number): boolean {
  // \n \r , { } [ ] " ' \
  return c === 10 || c === 13 || c === 44 || c === 123 || c === 125 || c === 91 || c === 93 || c === 34 || c === 39 || c === 92;
}

const LITERALS = new Set(['null', 'true', 'false', '~', 'none', 'nil', 'undefined']);

/**
 * Where the value assigned right after a name ending at `i` lies, as [start, end), or
 * undefined when what follows is not an assignment. Handles `NAME=v`, `NAME="v"`,
 * `NAME='v'`, `NAME := v`, `"name": "v"`, `name: v` and, inside escaped JSON,
 * `\"name\":\"v\"`.
 */
function valueSpan(s: string, i: number): [number, number] | undefined {
  const n = s.length;
  let j = i;
  // The closing quote of a quoted name.
  if (s[j] === '\\' && QUOTE(s[j + 1])) j += 2;
  else if (QUOTE(s[j])) j++;
  while (BLANK(s[j])) j++;
  let colon = false;
  const c = s[j];
  if (c === '=') {
    const d = s[j + 1];
    if (d === '=' || d === '>' || d === '~') return undefined; // a comparison or an arrow
    j++;
  } else if ((c === ':' || c === '?') && s[j + 1] === '=') {
    j += 2;
  } else if (c === ':') {
    const d = s[j + 1];
    if (d === ':' || (d === '/' && s[j + 2] === '/')) return undefined; // a C++ scope, a URL scheme
    colon = true;
    j++;
  } else {
    return undefined;
  }
  while (BLANK(s[j])) j++;
  if (j >= n) return undefined;
  let start: number;
  let end: number;
  if (s[j] === '\\' && QUOTE(s[j + 1])) {
    // Inside escaped JSON: the value ends at the next escape.
    start = j + 2;
    end = start;
    while (end < n && s.charCodeAt(end) !== 92 && s.charCodeAt(end) !== 10) end++;
  } else if (QUOTE(s[j])) {
    const q = s.charCodeAt(j);
    start = j + 1;
    end = start;
    while (end < n) {
      const x = s.charCodeAt(end);
      if (x === q || x === 10 || x === 13) break;
      end += x === 92 ? 2 : 1; // an escaped character belongs to the value
    }
    if (end > n) end = n;
  } else {
    start = j;
    end = j;
    if (colon) {
      while (end < n && !endsColonValue(s.charCodeAt(end))) end++;
      while (end > start && BLANK(s[end - 1])) end--;
    } else {
      while (end < n && !endsShellValue(s.charCodeAt(end))) end++;
    }
    if (LITERALS.has(s.slice(start, end).toLowerCase())) return undefined;
  }
  if (end <= start || s.startsWith(MARKER_PREFIX, start)) return undefined;
  return [start, end];
}

/** Replaces the values assigned to secret names in `s`. */
export function scrubAssignments(s: string, label: NameLabeler, t: Tally | null): string {
  const out: string[] = [];
  let last = 0;
  let changed = false;
  let floor = 0;
  KEYWORD.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = KEYWORD.exec(s)) !== null) {
    let ns = m.index;
    while (ns > floor && isNameChar(s.charCodeAt(ns - 1))) ns--;
    let ne = m.index + m[0].length;
    while (ne < s.length && isNameChar(s.charCodeAt(ne))) ne++;
    floor = ne;
    KEYWORD.lastIndex = ne;
    // A path such as /etc/passwd is not an assignment.
    if (ns > 0 && s.charCodeAt(ns - 1) === 47) continue;
    const detector = label(s.slice(ns, ne));
    if (detector === undefined) continue;
    const span = valueSpan(s, ne);
    if (span === undefined) continue;
    out.push(s.slice(last, span[0]), mark(detector));
    last = span[1];
    changed = true;
    t?.secret(detector);
    floor = span[1];
    KEYWORD.lastIndex = span[1];
  }
  if (!changed) return s;
  out.push(s.slice(last));
  return out.join('');
}
