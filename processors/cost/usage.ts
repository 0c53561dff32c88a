// Which agent events carry token counts, and what those counts mean per agent,
// brought to one shape in which no token is in two classes:
//   input       tokens billed at the input rate (no cache reads or writes in it)
//   cacheRead   cache hits;  cacheWrite  cache creation
//   output      output tokens, reasoning/thinking included;  reasoning  the part of output that is reasoning
//   prompt      the prompt size that decides a price tier
// The names are the agents' own, checked against the recorded fixtures.
import type { AnyValue, KeyValue, LogRecord } from '../../src/otlp/model';
import { eventNameOf, findAttribute, int64Value } from '../../src/conditions';

export type Agent = 'claude_code' | 'codex' | 'gemini_cli';

export interface Usage {
  agent: Agent;
  model: string;
  input: bigint;
  cacheRead: bigint;
  cacheWrite: bigint;
  output: bigint;
  reasoning: bigint;
  prompt: bigint;
}

const hasOwn = Object.prototype.hasOwnProperty;

function stringAttr(attrs: KeyValue[], key: string): string | undefined {
  const v = findAttribute(attrs, key);
  return v && hasOwn.call(v, 'stringValue') && typeof v.stringValue === 'string' ? v.stringValue : undefined;
}

/** The agent whose token-count event this record is, or undefined for every other record. */
export function agentOf(log: LogRecord): Agent | undefined {
  const name = eventNameOf(log);
  if (name === 'codex.sse_event') return stringAttr(log.attributes, 'event.kind') === 'response.completed' ? 'codex' : undefined;
  if (name === 'gemini_cli.api_response') return 'gemini_cli';
  // Claude Code names its events bare; its body holds the prefixed name.
  if (name === 'api_request') return 'claude_code';
  return undefined;
}

/** A token count, whether sent as an int, a decimal string (Codex) or a whole double; undefined when absent or not a count. */
export function tokenCount(v: AnyValue | null | undefined): bigint | undefined {
  if (!v) return undefined;
  if (hasOwn.call(v, 'stringValue') && v.stringValue != null) return /^\d{1,18}$/.test(v.stringValue) ? BigInt(v.stringValue) : undefined;
  if (hasOwn.call(v, 'intValue') && v.intValue != null) {
    const n = int64Value(v.intValue);
    if (typeof n === 'number') return n >= 0 ? BigInt(n) : undefined;
    return n !== undefined && /^\d+$/.test(n) ? BigInt(n) : undefined;
  }
  if (hasOwn.call(v, 'doubleValue') && v.doubleValue != null) {
    const d = v.doubleValue;
    return Number.isSafeInteger(d) && d >= 0 ? BigInt(d) : undefined;
  }
  return undefined;
}

const count = (attrs: KeyValue[], key: string) => tokenCount(findAttribute(attrs, key));
const minus = (a: bigint, b: bigint) => (a > b ? a - b : 0n);

/** The usage of a token-count event of `agent`, or undefined when the record carries no counts. */
export function usageOf(log: LogRecord, agent: Agent): Usage | undefined {
  const a = log.attributes;
  if (!a) return undefined;
  const model = stringAttr(a, 'model') ?? '';
  if (agent === 'codex') {
    // OpenAI: input_token_count holds the cached and cache-written tokens, output_token_count the reasoning
    // ones; tool_token_count is the request total, not a class. Codex logs response.completed twice and
    // only the second record has counts, so the first is skipped here.
    const input = count(a, 'input_token_count');
    const output = count(a, 'output_token_count');
    if (input === undefined && output === undefined) return undefined;
    const inTotal = input ?? 0n;
    const out = output ?? 0n;
    const cached = count(a, 'cached_token_count') ?? 0n;
    const written = count(a, 'cache_write_token_count') ?? 0n;
    const reasoning = count(a, 'reasoning_token_count') ?? 0n;
    const cacheRead = cached < inTotal ? cached : inTotal;
    const cacheWrite = written < inTotal - cacheRead ? written : inTotal - cacheRead;
    return {
      agent, model,
      input: inTotal - cacheRead - cacheWrite,
      cacheRead, cacheWrite,
      output: out,
      reasoning: reasoning < out ? reasoning : out,
      prompt: inTotal,
    };
  }
  if (agent === 'gemini_cli') {
    // Gemini: input_token_count (promptTokenCount) holds the cached content; thoughts are not in
    // output_token_count and bill as output; tool_token_count (toolUsePromptTokenCount) is prompt
    // input outside input_token_count.
    const input = count(a, 'input_token_count');
    const output = count(a, 'output_token_count');
    if (input === undefined && output === undefined) return undefined;
    const inTotal = input ?? 0n;
    const cached = count(a, 'cached_content_token_count') ?? 0n;
    const thoughts = count(a, 'thoughts_token_count') ?? 0n;
    const tool = count(a, 'tool_token_count') ?? 0n;
    const cacheRead = cached < inTotal ? cached : inTotal;
    return {
      agent, model,
      input: minus(inTotal, cacheRead) + tool,
      cacheRead, cacheWrite: 0n,
      output: (output ?? 0n) + thoughts,
      reasoning: thoughts,
      prompt: inTotal + tool,
    };
  }
  // Anthropic reports the three input classes apart.
  const input = count(a, 'input_tokens');
  const output = count(a, 'output_tokens');
  if (input === undefined && output === undefined) return undefined;
  const cacheRead = count(a, 'cache_read_tokens') ?? 0n;
  const cacheWrite = count(a, 'cache_creation_tokens') ?? 0n;
  return {
    agent, model,
    input: input ?? 0n,
    cacheRead, cacheWrite,
    output: output ?? 0n,
    reasoning: 0n,
    prompt: (input ?? 0n) + cacheRead + cacheWrite,
  };
}

/** Every token of the usage once. */
export function totalTokens(u: Usage): bigint {
  return u.input + u.cacheRead + u.cacheWrite + u.output;
}
