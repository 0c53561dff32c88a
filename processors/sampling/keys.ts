// Where a record's sampling randomness comes from. Agents name their session and
// prompt ids differently (Claude Code session.id + prompt.id, Gemini CLI session.id +
// prompt_id, Codex conversation.id; Gemini CLI spans gen_ai.conversation.id +
// gen_ai.prompt.name), so the key is the first session attribute found plus the
// first prompt attribute found, and its randomness is the first 56 bits of the
// SHA-256 of that text: the same in every process and every version.
import * as crypto from 'node:crypto';
import type { KeyValue } from '../../src/otlp/model';
import { scalarOf } from '../../src/conditions';
import { DIGITS } from './threshold';

export interface KeySpec {
  session: readonly string[];
  prompt: readonly string[];
}

export const DEFAULT_KEY: KeySpec = {
  session: ['session.id', 'conversation.id', 'gen_ai.conversation.id'],
  prompt: ['prompt.id', 'prompt_id', 'gen_ai.prompt.name'],
};

/** A record's own key parts; either may be missing. */
export interface OwnKey {
  session?: string;
  prompt?: string;
}

/** Reads the key parts of records, for one KeySpec. */
export class KeyReader {
  private readonly rank = new Map<string, number>();
  private readonly sessions: number;

  constructor(spec: KeySpec) {
    // One map for both lists: rank < sessions is a session attribute, the rest prompt attributes.
    spec.session.forEach((k, i) => this.rank.has(k) || this.rank.set(k, i));
    this.sessions = spec.session.length;
    spec.prompt.forEach((k, i) => this.rank.has(k) || this.rank.set(k, this.sessions + i));
  }

  /** The key parts of a record: one pass over its attributes, then the resource's for a session id. */
  read(attrs: KeyValue[] | undefined, resourceAttrs: KeyValue[] | undefined): OwnKey {
    let session: string | undefined;
    let sRank = Infinity;
    let prompt: string | undefined;
    let pRank = Infinity;
    if (attrs) {
      for (let i = 0; i < attrs.length; i++) {
        const r = this.rank.get(attrs[i].key);
        if (r === undefined) continue;
        if (r < this.sessions ? r >= sRank : r >= pRank) continue;
        const v = textOf(attrs[i].value);
        if (v === undefined) continue;
        if (r < this.sessions) [session, sRank] = [v, r];
        else [prompt, pRank] = [v, r];
      }
    }
    if (session === undefined && resourceAttrs) {
      for (let i = 0; i < resourceAttrs.length; i++) {
        const r = this.rank.get(resourceAttrs[i].key);
        if (r === undefined || r >= this.sessions || r >= sRank) continue;
        const v = textOf(resourceAttrs[i].value);
        if (v !== undefined) [session, sRank] = [v, r];
      }
    }
    // Gemini CLI in -p mode uses the session id as the prompt id; dropping it lets the
    // spans that carry only the conversation id fall in the same cycle.
    if (prompt !== undefined && prompt === session) prompt = undefined;
    return { session, prompt };
  }
}

function textOf(v: KeyValue['value']): string | undefined {
  const x = scalarOf(v ?? undefined);
  if (typeof x === 'string') return x === '' ? undefined : x;
  if (typeof x === 'number' || typeof x === 'boolean') return String(x);
  return undefined;
}

/** The text that is hashed: the session and prompt parts joined by a unit separator. */
export function keyText(k: OwnKey): string | undefined {
  if (k.session === undefined && k.prompt === undefined) return undefined;
  return k.prompt === undefined ? k.session! : `${k.session ?? ''}\u001f${k.prompt}`;
}

/** Of two keys, the one a trace or prompt cycle is decided by: one with a prompt first, then the smaller text. */
export function betterKey(a: OwnKey | undefined, b: OwnKey): OwnKey {
  if (a === undefined) return b;
  const ap = a.prompt !== undefined;
  const bp = b.prompt !== undefined;
  if (ap !== bp) return ap ? a : b;
  return keyText(b)! < keyText(a)! ? b : a;
}

const memo = new Map<string, string>();
const MEMO_MAX = 65536;

const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(alg: string, data: string, enc: string): string }).hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** 56 bits of randomness (14 hex digits) for a key text: the first 7 bytes of its SHA-256 (UTF-8). */
export function randomnessOfText(text: string): string {
  let r = memo.get(text);
  if (r === undefined) {
    r = sha256Hex(text).slice(0, DIGITS);
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(text, r);
  }
  return r;
}

/** A trace id as 32 hex digits, or undefined when it is absent, not 16 bytes, or all zero. */
export function traceIdHex(id: Uint8Array | undefined): string | undefined {
  if (!id || id.length !== 16) return undefined;
  let zero = true;
  for (let i = 0; i < 16; i++) if (id[i] !== 0) { zero = false; break; }
  if (zero) return undefined;
  return Buffer.from(id.buffer, id.byteOffset, 16).toString('hex');
}

/** The spec's randomness of a trace: its least significant 56 bits (the last 14 hex digits). */
export function traceRandomness(tidHex: string): string {
  return tidHex.slice(32 - DIGITS);
}

/** A bounded map that forgets its oldest entries, for what spans of one trace learned in earlier batches. */
export class RecentMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    if (this.map.has(k)) return;
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(k, v);
  }
  get size(): number {
    return this.map.size;
  }
}
