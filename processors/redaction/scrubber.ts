// Secret scrubbing of one string, with the key it is found under as context. Strings
// that hold JSON are scrubbed member by member (json-text.ts) and still parse after;
// anything else runs through the text detectors, then the name-based ones.
import type { RE2JS } from 're2js';
import { isAuthorizationName, nameLabeler, redactAuthorizationValue, scrubAssignments, type NameLabeler } from './assignments';
import { MARKER_PREFIX, TRIGGER, mark, textDetectors, userDetector, type Detector } from './detectors';
import { looksLikeJson, rewriteJsonText } from './json-text';
import { remembered } from './remember';
import type { Tally } from './tally';

export interface UserPattern {
  name: string;
  re: RE2JS;
  group: number;
}

export interface ScrubberOptions {
  disabled: ReadonlySet<string>;
  patterns: readonly UserPattern[];
  allowKeys: ReadonlySet<string>;
}

/** JSON held in a string inside JSON inside a string…: deeper levels are scrubbed as text. */
const MAX_JSON_DEPTH = 6;
/** Nothing shorter can hold a secret any detector finds (the shortest is `pwd:x@` in a URL). */
const MIN_LENGTH = 6;
/** Keys whose verdict is remembered at most. */
const MAX_REMEMBERED_KEYS = 1024;
/** Strings this long that held no secret are remembered (see Scrubber.clean)… */
const CLEAN_MIN_LENGTH = 1024;
/** …up to this many characters in all. */
const CLEAN_MAX_CHARS = 1 << 20;

interface KeyVerdict {
  allowed: boolean;
  detector: string | undefined;
}

export class Scrubber {
  private readonly detectors: Detector[];
  private readonly label: NameLabeler;
  private readonly assignmentsOn: boolean;
  private readonly authOn: boolean;
  private readonly allowKeys: ReadonlySet<string>;
  /** With user patterns, the built-in trigger no longer tells which strings can be skipped. */
  private readonly alwaysScan: boolean;
  /**
   * Long strings lately found to hold no secret, oldest first. Gemini CLI sends the same
   * 31 KB of system instructions in request after request: finding one again costs a hash
   * and a comparison, scrubbing it again a dozen scans and a JSON walk. Only clean strings
   * are kept, so no secret stays in memory on their account.
   */
  private readonly clean = new Set<string>();
  private cleanChars = 0;

  constructor(opts: ScrubberOptions) {
    const users = opts.patterns.map((p) => userDetector(p.name, p.re, p.group));
    this.detectors = [...users, ...textDetectors().filter((d) => !opts.disabled.has(d.name))];
    const awsOn = !opts.disabled.has('aws-secret-access-key');
    const assignOn = !opts.disabled.has('secret-assignment');
    this.label = nameLabeler(awsOn, assignOn);
    this.assignmentsOn = awsOn || assignOn;
    this.authOn = !opts.disabled.has('authorization');
    this.allowKeys = opts.allowKeys;
    this.alwaysScan = users.length > 0;
  }

  /** True when the allow-list exempts `key`. */
  allowed(key: string): boolean {
    return this.verdict(key).allowed;
  }

  /** The detector that a whole value found under `key` falls to, if the key names a secret. */
  keyDetector(key: string): string | undefined {
    return this.verdict(key).detector;
  }

  /**
   * What a key means to the scrubber, remembered: the same few keys come in every record,
   * and judging one takes a set lookup, case folding and several suffix tests.
   */
  private readonly verdict = remembered(
    (key): KeyVerdict => ({ allowed: this.allowKeys.has(key), detector: this.authOn && isAuthorizationName(key) ? 'authorization' : this.label(key) }),
    MAX_REMEMBERED_KEYS,
  );

  /** A scalar found under `key` (an attribute, kvlist or JSON member), scrubbed. */
  scrubKeyed(s: string, key: string | undefined, t: Tally | null, depth = 0): string {
    if (key !== undefined) {
      const verdict = this.verdict(key);
      if (verdict.allowed) return s;
      const det = verdict.detector;
      if (det !== undefined) {
        if (s.trim() === '' || s.startsWith(MARKER_PREFIX)) return s;
        t?.secret(det);
        return det === 'authorization' ? redactAuthorizationValue(s) : mark(det);
      }
    }
    return this.scrub(s, t, depth);
  }

  /** `s` with every secret replaced; `s` itself (the same string) when it holds none. */
  scrub(s: string, t: Tally | null, depth = 0): string {
    if (s.length < CLEAN_MIN_LENGTH || depth > 0) return this.scrubAnew(s, t, depth);
    if (this.clean.has(s)) return s;
    const out = this.scrubAnew(s, t, depth);
    if (out === s) this.rememberClean(s);
    return out;
  }

  private rememberClean(s: string): void {
    this.clean.add(s);
    this.cleanChars += s.length;
    for (const old of this.clean) {
      if (this.cleanChars <= CLEAN_MAX_CHARS) break;
      this.clean.delete(old);
      this.cleanChars -= old.length;
    }
  }

  private scrubAnew(s: string, t: Tally | null, depth: number): string {
    if (s.length < MIN_LENGTH) return s;
    if (!this.alwaysScan && !TRIGGER.test(s)) return s;
    if (depth < MAX_JSON_DEPTH && looksLikeJson(s)) {
      const r = rewriteJsonText(
        s,
        (v, key) => this.scrubKeyed(v, key, t, depth + 1),
        (raw, key) => {
          if (key === undefined || this.allowKeys.has(key)) return undefined;
          const det = this.keyDetector(key);
          if (det === undefined) return undefined;
          t?.secret(det);
          return JSON.stringify(mark(det));
        },
      );
      if (r !== undefined) return r;
    }
    return this.scrubText(s, t);
  }

  /** Plain-text scrubbing: every detector in turn, then the name-based scan. */
  scrubText(s: string, t: Tally | null): string {
    let out = s;
    for (const d of this.detectors) if (d.precheck(out)) out = d.replace(out, t);
    if (this.assignmentsOn) out = scrubAssignments(out, this.label, t);
    return out;
  }
}
