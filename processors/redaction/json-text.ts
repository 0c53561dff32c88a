// Strings that hold JSON (Claude Code's tool_parameters, Gemini CLI's function_args)
// are scrubbed token by token: each string member is decoded, scrubbed with its key as
// context, and written back with JSON.stringify only when it changed. Everything else
// (numbers, spacing, key order, escapes of untouched strings) keeps its bytes, so the
// result still parses, and a document without a secret comes back as the same string.
//
// The tokenizer is strict enough that every character outside a string token is JSON
// punctuation, blank space or a literal; otherwise it gives up (undefined) and the
// caller scrubs the text as plain text. One pass, no backtracking: linear.

/** Decides a string's new value (a member's value, with its key, or a key); returns `value` itself when unchanged. */
export type StringHook = (value: string, key: string | undefined) => string;
/** Decides a number member's replacement token (JSON text), or undefined to keep it. */
export type NumberHook = (raw: string, key: string | undefined) => string | undefined;

interface Frame {
  array: boolean;
  /** For an array: the key its elements are found under (the array's own key). */
  key: string | undefined;
}

const enum Expect {
  Value,
  ValueOrClose,
  Key,
  KeyOrClose,
  Colon,
  After,
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Index of the quote closing the string token that opens at `i`, or -1. */
function stringEnd(s: string, i: number): number {
  const n = s.length;
  let j = i + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 34) return j;
    if (c === 92) j += 2;
    else if (c < 32) return -1;
    else j++;
  }
  return -1;
}

function decodeToken(s: string, i: number, e: number): string | undefined {
  const raw = s.slice(i + 1, e);
  if (raw.indexOf('\\') < 0) return raw;
  try {
    return JSON.parse(s.slice(i, e + 1)) as string;
  } catch {
    return undefined;
  }
}

/** True when `s` starts like a JSON object or array (after blanks). */
export function looksLikeJson(s: string): boolean {
  let i = 0;
  while (i < s.length && isBlank(s.charCodeAt(i))) i++;
  const c = s.charCodeAt(i);
  if (c !== 123 && c !== 91) return false;
  let j = s.length - 1;
  while (j > i && isBlank(s.charCodeAt(j))) j--;
  const d = s.charCodeAt(j);
  return d === 125 || d === 93;
}

/** `s` with its string (and number) members rewritten by the hooks, or undefined when `s` is not JSON. */
export function rewriteJsonText(s: string, onString: StringHook, onNumber: NumberHook): string | undefined {
  const n = s.length;
  const stack: Frame[] = [];
  let expect = Expect.Value;
  let memberKey: string | undefined;
  let out: string[] | null = null;
  let last = 0;
  let i = 0;
  let started = false;

  const keyOfValue = (): string | undefined => {
    const top = stack[stack.length - 1];
    return top === undefined ? undefined : top.array ? top.key : memberKey;
  };
  const splice = (from: number, to: number, text: string) => {
    if (out === null) out = [];
    out.push(s.slice(last, from), text);
    last = to;
  };

  while (i < n) {
    const c = s.charCodeAt(i);
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (started && stack.length === 0) return undefined; // text after the document
    switch (expect) {
      case Expect.Key:
      case Expect.KeyOrClose: {
        if (c === 125 && expect === Expect.KeyOrClose) {
          stack.pop();
          expect = Expect.After;
          i++;
          continue;
        }
        if (c !== 34) return undefined;
        const e = stringEnd(s, i);
        if (e < 0) return undefined;
        const k = decodeToken(s, i, e);
        if (k === undefined) return undefined;
        // A key is a string too; the member's value is still judged by the key as sent.
        const nk = onString(k, undefined);
        if (nk !== k) splice(i, e + 1, JSON.stringify(nk));
        memberKey = k;
        expect = Expect.Colon;
        i = e + 1;
        continue;
      }
      case Expect.Colon:
        if (c !== 58) return undefined;
        expect = Expect.Value;
        i++;
        continue;
      case Expect.After: {
        const top = stack[stack.length - 1];
        if (c === 44) expect = top.array ? Expect.Value : Expect.Key;
        else if (c === 125 && !top.array) stack.pop();
        else if (c === 93 && top.array) stack.pop();
        else return undefined;
        i++;
        continue;
      }
      default: {
        // A value (or, right after `[`, the end of an empty array).
        if (c === 93 && expect === Expect.ValueOrClose) {
          stack.pop();
          expect = Expect.After;
          i++;
          continue;
        }
        if (!started && c !== 123 && c !== 91) return undefined; // only objects and arrays
        started = true;
        if (c === 123) {
          stack.push({ array: false, key: undefined });
          expect = Expect.KeyOrClose;
          i++;
          continue;
        }
        if (c === 91) {
          stack.push({ array: true, key: keyOfValue() });
          expect = Expect.ValueOrClose;
          i++;
          continue;
        }
        if (c === 34) {
          const e = stringEnd(s, i);
          if (e < 0) return undefined;
          const v = decodeToken(s, i, e);
          if (v === undefined) return undefined;
          const nv = onString(v, keyOfValue());
          if (nv !== v) splice(i, e + 1, JSON.stringify(nv));
          expect = Expect.After;
          i = e + 1;
          continue;
        }
        // A literal: number, true, false or null.
        let e = i;
        while (e < n) {
          const x = s.charCodeAt(e);
          if (isBlank(x) || x === 44 || x === 125 || x === 93) break;
          e++;
        }
        const raw = s.slice(i, e);
        if (raw === 'true' || raw === 'false' || raw === 'null') {
          // kept
        } else if (raw.length > 0 && raw.length < 400 && NUMBER.test(raw)) {
          const rep = onNumber(raw, keyOfValue());
          if (rep !== undefined) splice(i, e, rep);
        } else {
          return undefined;
        }
        expect = Expect.After;
        i = e;
        continue;
      }
    }
  }
  if (!started || stack.length !== 0) return undefined;
  if (out === null) return s;
  (out as string[]).push(s.slice(last));
  return (out as string[]).join('');
}
