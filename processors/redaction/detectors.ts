// The built-in secret detectors. Each replaces only the secret and leaves its context:
// `export GITHUB_TOKEN=ghp_…` becomes `export GITHUB_TOKEN=[REDACTED:github-token]`.
//
// Why JS RegExp here and not re2js: V8's backtracking engine is several times faster on
// these patterns (see bench/redaction-adversarial.ts), and every pattern below is linear
// by construction. The argument, applied per pattern in the comments:
//  (a) a match can only start where a literal prefix occurs (`ghp_`, `AIza`, `://`), so
//      a failed attempt costs at most the bounded part after that prefix; or
//  (b) where a quantifier is unbounded, the start is guarded by a lookbehind that refuses
//      the quantified class, so a match can only start at the beginning of a run of that
//      class, runs of different starts do not overlap, and every character is consumed by
//      at most a constant number of attempts;
//  (c) no two adjacent quantified parts can consume the same character (the classes are
//      disjoint or separated by a required literal), so a failed attempt never tries more
//      than one way to split the text.
// Nothing here has a nested quantifier. User-defined patterns, which cannot be argued
// this way, run on re2js (linear time by construction).
//
// In text that is itself escaped JSON (a truncated JSON string that could not be parsed),
// a secret may follow a `\n`; the boundary lookbehinds accept that escape, and no class
// below contains a backslash, so a replacement never cuts an escape sequence in two.
import { RE2JS } from 're2js';
import type { Tally } from './tally';

export const MARKER_PREFIX = '[REDACTED:';
const markers = new Map<string, string>();
/** The marker that replaces a secret found by `detector`: `[REDACTED:github-token]`. */
export function mark(detector: string): string {
  let m = markers.get(detector);
  if (m === undefined) markers.set(detector, (m = `${MARKER_PREFIX}${detector}]`));
  return m;
}

export interface Detector {
  readonly name: string;
  /** Cheap test: false means the detector cannot match `s`, so its pattern is not run. */
  precheck(s: string): boolean;
  /** `s` with every secret replaced by its marker; `s` itself when there was none. */
  replace(s: string, t: Tally | null): string;
}

/**
 * The literal `lit`, "not preceded by a character of CLASS, or preceded by a JSON escape
 * (\n, \r, \t)": the start guard of (b). CLASS must be the class the pattern's quantifier
 * consumes. The guard is a lookbehind over the literal, placed after it: a pattern that
 * starts with a literal is searched for that literal quickly, while one that starts with
 * a lookbehind is tried at every position (30 times slower on Gemini CLI's long prompts,
 * where words like `task-` let the openai-api-key pattern run).
 */
const guarded = (cls: string, lit: string) => `${lit}(?<=(?:^|[^${cls}]|\\\\[nrt])${lit})`;

/**
 * A detector from a global RegExp: without groups the whole match is the secret; with
 * two, group 1 is context kept in front of the secret, group 2.
 */
function regexDetector(name: string, re: RegExp, precheck: (s: string) => boolean): Detector {
  const marker = mark(name);
  // The number of capture groups: `|` lets the pattern match the empty string, so exec returns them all.
  const groups = new RegExp(`${re.source}|`).exec('')!.length - 1;
  let tally: Tally | null = null;
  const whole = () => {
    tally?.secret(name);
    return marker;
  };
  // Group 1 is context kept in front of the secret (group 2).
  const keepFirst = (m: string, keep: string, secret: string) => {
    // Already replaced by an earlier detector (a token inside a URL password).
    if (secret.startsWith(MARKER_PREFIX)) return m;
    tally?.secret(name);
    return keep + marker;
  };
  const fn = groups === 0 ? whole : keepFirst;
  return {
    name,
    precheck,
    replace(s, t) {
      re.lastIndex = 0;
      tally = t;
      const out = s.replace(re, fn as (m: string, ...rest: string[]) => string);
      tally = null;
      return out;
    },
  };
}

const has = (...lits: string[]) => (s: string) => lits.some((l) => s.includes(l));

// ---------------------------------------------------------------------------------
// Token formats with a literal prefix. (a) for the bounded ones; the guard of (b) keeps
// them from matching inside a longer word (`risk-assessment-…` is not an OpenAI key).

// sk-ant-api03-…: Anthropic. Runs before openai-api-key, whose prefix sk- it shares.
const ANTHROPIC = new RegExp(`${guarded('A-Za-z0-9_-', 'sk-ant-')}[A-Za-z0-9_-]{20,255}`, 'g');
// sk-…, sk-proj-…, sk-svcacct-…, sk-admin-…: OpenAI (the class covers the infixes).
const OPENAI = new RegExp(`${guarded('A-Za-z0-9_-', 'sk-')}[A-Za-z0-9_-]{20,255}`, 'g');
// ghp_ gho_ ghu_ ghs_ ghr_ (classic, 36 characters) and github_pat_ (fine-grained).
const GITHUB = new RegExp(
  `${guarded('A-Za-z0-9_', 'gh[pousr]_')}[A-Za-z0-9]{20,255}|${guarded('A-Za-z0-9_', 'github_pat_')}[A-Za-z0-9_]{20,255}`,
  'g',
);
const GITLAB = new RegExp(`${guarded('A-Za-z0-9_-', 'glpat-')}[A-Za-z0-9_-]{20,255}`, 'g');
// xoxb- (bot), xoxp- (user), xoxa-, xoxo-, xoxs-, xoxr- (refresh).
const SLACK = new RegExp(`${guarded('A-Za-z0-9_-', 'xox[abposr]-')}[A-Za-z0-9-]{10,255}`, 'g');
const GOOGLE = new RegExp(`${guarded('A-Za-z0-9_-', 'AIza')}[A-Za-z0-9_-]{35}`, 'g');
// sk_live_ and rk_live_ (restricted); test-mode keys are credentials too.
const STRIPE = new RegExp(`${guarded('A-Za-z0-9_', '(?:sk|rk)_(?:live|test)_')}[A-Za-z0-9]{10,255}`, 'g');
// AKIA (long-term), ASIA (temporary), ABIA, ACCA: 4 + 16 characters, exactly.
const AWS_KEY_ID = new RegExp(`${guarded('A-Za-z0-9', '(?:AKIA|ASIA|ABIA|ACCA)')}[A-Z0-9]{16}`, 'g');
// header.payload.signature, both JSON parts starting with {" (eyJ in base64url). The
// first two segments are unbounded: (b) with the guard on the segment class, and (c):
// the class excludes the `.` that must follow.
const JWT = new RegExp(
  `${guarded('A-Za-z0-9_-', 'eyJ')}[A-Za-z0-9_-]{4,}\\.eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*`,
  'g',
);
// scheme://user:password@host. (a): every attempt starts at the literal `://` and reads
// at most 256 + 256 characters; user and password classes are split by the required `:`
// (the user class has no `:`) and the password class has no `@`, so (c) holds. The user
// class has no `[` either, so a marker already written there (`[REDACTED:x]`, whose `:`
// would pass for the separator) is not taken for a user name.
const URL_PASSWORD = /(:\/\/[^\s:/?#@"'\\<>[\]]{0,256}:)([^\s/?#@"'\\<>]{1,256})(?=@)/g;
// Authorization: Bearer|Basic|Token <credential>, as a header line, a curl -H argument,
// or a JSON/YAML member. (a) on the literal `authorization`; the separators are bounded
// and, by (c), unambiguous: each blank run is separated from the next by a required `:`
// or `=`, a quote, or the scheme word. The credential run ends the match, so it never
// backtracks.
const AUTHORIZATION =
  /((?:proxy-)?authorization(?:\\?["'])?[ \t]{0,16}[:=][ \t]{0,16}(?:\\?["'][ \t]{0,16})?(?:bearer|basic|token)[ \t]{1,16})([A-Za-z0-9._~+/=-]+)/gi;

const AWS_ID_PRE = /A(?:KIA|SIA|BIA|CCA)/;
const GITHUB_PRE = /gh[pousr]_|github_pat_/;
const AUTH_PRE = /authorization/i;

// ---------------------------------------------------------------------------------
// PEM private keys: the body between the BEGIN and END lines is replaced, the lines stay.

const PEM_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ ){0,4})PRIVATE KEY( BLOCK)?-----/g; // bounded: (a)
const PEM_END = '-----END ';

/** Characters a PEM body can hold (base64, blanks, header lines, JSON escapes). */
function pemBodyChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) ||
    c === 43 || c === 47 || c === 61 || c === 32 || c === 9 || c === 10 || c === 13 ||
    c === 58 || c === 44 || c === 45 || c === 92
  );
}

/** [a, b) inside [start, end) without the blanks and line breaks (`\n` escapes too) at either end. */
function trimBreaks(s: string, start: number, end: number): [number, number] {
  const blank = (c: number) => c === 10 || c === 13 || c === 32 || c === 9;
  const esc = (i: number) => s.charCodeAt(i) === 92 && (s[i + 1] === 'n' || s[i + 1] === 'r');
  let a = start;
  let b = end;
  for (;;) {
    if (a < b && blank(s.charCodeAt(a))) a++;
    else if (a + 1 < b && esc(a)) a += 2;
    else break;
  }
  for (;;) {
    if (b > a && blank(s.charCodeAt(b - 1))) b--;
    else if (b - 2 >= a && esc(b - 2)) b -= 2;
    else break;
  }
  return [a, b];
}

const privateKey: Detector = {
  name: 'private-key',
  precheck: has('-----BEGIN '),
  replace(s, t) {
    // Linear: each BEGIN is found once; the END search moves forward only, and once
    // no END is left after some point none is searched for again.
    let out = '';
    let last = 0;
    let noEndAfter = Infinity;
    PEM_BEGIN.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = PEM_BEGIN.exec(s)) !== null) {
      const bodyStart = m.index + m[0].length;
      let bodyEnd = -1;
      if (bodyStart < noEndAfter) {
        bodyEnd = s.indexOf(PEM_END, bodyStart);
        if (bodyEnd < 0) noEndAfter = bodyStart;
      }
      if (bodyEnd < 0) {
        // No END line (the value was cut short): the key runs as far as its characters do.
        bodyEnd = bodyStart;
        while (bodyEnd < s.length && pemBodyChar(s.charCodeAt(bodyEnd))) bodyEnd++;
        // A JSON escape cut in half at the end would break the surrounding string.
        if (bodyEnd > bodyStart && s.charCodeAt(bodyEnd - 1) === 92 && bodyEnd < s.length) bodyEnd--;
      }
      // The line breaks around the body (real or escaped) stay, so the block keeps its shape.
      const [a, b] = trimBreaks(s, bodyStart, bodyEnd);
      if (b <= a) continue;
      out += s.slice(last, a) + mark('private-key');
      last = b;
      t?.secret('private-key');
      PEM_BEGIN.lastIndex = bodyEnd;
    }
    return last === 0 ? s : out + s.slice(last);
  },
};

/** The built-in detectors that work on text alone, in the order they run. */
export function textDetectors(): Detector[] {
  return [
    privateKey,
    regexDetector('jwt', JWT, has('eyJ')),
    regexDetector('anthropic-api-key', ANTHROPIC, has('sk-ant-')),
    regexDetector('openai-api-key', OPENAI, has('sk-')),
    regexDetector('github-token', GITHUB, (s) => GITHUB_PRE.test(s)),
    regexDetector('gitlab-token', GITLAB, has('glpat-')),
    regexDetector('slack-token', SLACK, has('xox')),
    regexDetector('stripe-key', STRIPE, has('_live_', '_test_')),
    regexDetector('google-api-key', GOOGLE, has('AIza')),
    regexDetector('aws-access-key-id', AWS_KEY_ID, (s) => AWS_ID_PRE.test(s)),
    regexDetector('url-password', URL_PASSWORD, has('://')),
    regexDetector('authorization', AUTHORIZATION, (s) => AUTH_PRE.test(s)),
  ];
}

/** A user-defined pattern, run with re2js (linear time whatever the pattern). */
export function userDetector(name: string, re: RE2JS, group: number): Detector {
  return {
    name,
    precheck: () => true,
    replace(s, t) {
      const m = re.matcher(s);
      let out = '';
      let last = 0;
      while (m.find()) {
        const a = m.start(group);
        const b = m.end(group);
        if (a < last || b <= a || s.startsWith(MARKER_PREFIX, a)) continue;
        out += s.slice(last, a) + mark(name);
        last = b;
        t?.secret(name);
      }
      return last === 0 ? s : out + s.slice(last);
    },
  };
}

/**
 * Anything any built-in detector needs, case-insensitively, in one pass: a string
 * without a hit has no secret a built-in could find, so it is left alone at the cost
 * of one scan. `\u` sends JSON with escaped letters to the JSON path, which decodes it.
 * (a): an alternation of short literals.
 */
export const TRIGGER =
  /sk-|sk_|rk_|gh[pousr]_|github_pat_|glpat-|xox|aiza|akia|asia|abia|acca|eyj|-----begin|:\/\/|authorization|token|secret|passw|api[_-]?key|access[_-]?key|private[_-]?key|\\u/i;

/** Names of every built-in detector, for validation and the README. */
export const BUILTIN_DETECTORS = [
  'aws-access-key-id',
  'aws-secret-access-key',
  'github-token',
  'gitlab-token',
  'slack-token',
  'anthropic-api-key',
  'openai-api-key',
  'google-api-key',
  'stripe-key',
  'jwt',
  'private-key',
  'authorization',
  'url-password',
  'secret-assignment',
] as const;
