// The content fields of Claude Code, Codex CLI and Gemini CLI, recognised by event and
// attribute name as the recorded fixtures show them, and the walk over the message
// bodies Gemini CLI sends whole (request_text, response_text, gen_ai.*.messages), in
// which the prompt, the model's text, tool arguments and tool output sit side by side.

export const CATEGORIES = ['prompt', 'response', 'tool_arguments', 'tool_output', 'system_instructions'] as const;
export type Category = (typeof CATEGORIES)[number];
export const ACTIONS = ['drop', 'mask', 'hash', 'keep'] as const;
export type Action = (typeof ACTIONS)[number];

/** How a field's value is laid out: plain text, or one of the message bodies. */
export type Shape = 'text' | 'gemini_request' | 'gemini_response' | 'genai_input' | 'genai_output' | 'genai_system';

export interface ContentField {
  /** What the field holds; for a message body, what it is treated as when it cannot be parsed. */
  category: Category;
  shape: Shape;
}

const f = (category: Category, shape: Shape = 'text'): ContentField => ({ category, shape });

/**
 * A lookup table with no prototype: it is indexed by names that senders choose, and an
 * attribute or event named `toString` or `constructor` must find nothing, not
 * Object.prototype's members.
 */
function table<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

/**
 * Log event attributes by bare event name. Claude Code sends the bare name in event.name
 * (`user_prompt`), Codex and Gemini CLI the prefixed one (`codex.user_prompt`,
 * `gemini_cli.user_prompt`); both match here.
 */
const EVENT_FIELDS: Record<string, Record<string, ContentField>> = table({
  // Claude Code, Codex, Gemini CLI
  user_prompt: table({ prompt: f('prompt') }),
  // Claude Code
  assistant_response: table({ response: f('response') }),
  // Claude Code (tool_parameters: JSON with bash_command, full_command, description)
  tool_decision: table({ tool_parameters: f('tool_arguments') }),
  // Claude Code (tool_parameters, tool_input) and Codex (arguments, output)
  tool_result: table({
    tool_parameters: f('tool_arguments'),
    tool_input: f('tool_arguments'),
    arguments: f('tool_arguments'),
    output: f('tool_output'),
  }),
  // Gemini CLI: the whole request contents (prompt, tool calls, tool output) and the raw response.
  api_request: table({ request_text: f('prompt', 'gemini_request') }),
  api_response: table({ response_text: f('response', 'gemini_response') }),
  tool_call: table({ function_args: f('tool_arguments') }),
  // Gemini CLI: the routing classifier's reasoning, model text about the prompt.
  model_routing: table({ reasoning: f('response') }),
});

/** GenAI semantic-convention content attributes, on any log record, span or span event. */
export const RECORD_FIELDS: Record<string, ContentField> = table({
  'gen_ai.input.messages': f('prompt', 'genai_input'),
  'gen_ai.output.messages': f('response', 'genai_output'),
  'gen_ai.system_instructions': f('system_instructions', 'genai_system'),
});

/** Metric data point attributes (Gemini CLI's gemini_cli.model_routing.latency). */
export const POINT_FIELDS: Record<string, ContentField> = table({
  'routing.reasoning': f('response'),
});

/** Resource attributes holding a command line (Gemini CLI sends its prompt in it). */
export const COMMAND_ARGS_KEYS = new Set(['process.command_args', 'process.command_line']);

/** The content attributes of a log event, by its name (bare or with one `prefix.`). */
export function eventFields(name: string | undefined): Record<string, ContentField> | undefined {
  if (!name) return undefined;
  const direct = EVENT_FIELDS[name];
  if (direct) return direct;
  const dot = name.indexOf('.');
  if (dot > 0 && name.indexOf('.', dot + 1) < 0) return EVENT_FIELDS[name.slice(dot + 1)];
  return undefined;
}

/** Categories a message body of each shape can hold. */
export const SHAPE_CATEGORIES: Record<Exclude<Shape, 'text'>, readonly Category[]> = {
  gemini_request: ['prompt', 'response', 'tool_arguments', 'tool_output'],
  gemini_response: ['response', 'tool_arguments', 'tool_output'],
  genai_input: ['prompt', 'response', 'tool_arguments', 'tool_output'],
  genai_output: ['response', 'tool_arguments', 'tool_output'],
  genai_system: ['system_instructions'],
};

// ---------------------------------------------------------------------------------
// Message bodies

export interface MessageOps {
  action(c: Category): Action;
  /** The value that replaces content of category `c` (mask marker or hash); the value itself when it already is one. */
  replacement(value: unknown, c: Category): unknown;
  /** Scrubs secrets in a parsed JSON value in place; true when something changed. */
  scrubTree(holder: Record<string | number, unknown>, member: string | number, key: string | undefined): boolean;
}

type Obj = Record<string, unknown>;
type Holder = Record<string | number, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What bare text found at a place in a message body is. */
interface Ctx {
  text: Category;
  /** Roles do not change it (system instructions). */
  fixed: boolean;
}

function roleCategory(role: string): Category {
  if (role === 'user' || role === 'human') return 'prompt';
  if (role === 'tool' || role === 'function') return 'tool_output';
  // model, assistant, and system (Gemini CLI labels the model's turns "system").
  return 'response';
}

/** Longest chain of nested values the walk follows; a deeper body is treated as a whole. */
const MAX_DEPTH = 64;

/**
 * A walk over one parsed message body that knows the vocabularies the agents use:
 * Gemini API Content ({role, parts: [{text} | {functionCall: {args}} | {functionResponse:
 * {response}} …]}, candidates), GenAI semantic-convention messages ({role, parts: [{type:
 * text|tool_call|tool_call_response|reasoning, content|arguments|response}]}), and
 * Gemini CLI's tool call records ({name, args, display: {description}} and completed
 * calls with a response). It is tolerant of how they are nested; a member it does not
 * know is walked into, and its strings are left to secret scrubbing.
 */
class Walk {
  changed = false;
  /** Content members found, whatever their action: none found in a body means the walk did not understand it. */
  seen = 0;
  /** Categories that were masked, hashed or dropped, for counting. */
  readonly touched = new Set<Category>();
  constructor(private readonly ops: MessageOps) {}

  /** Applies category `c`'s action to holder[member]. */
  member(holder: Holder, member: string | number, c: Category): void {
    const v = holder[member];
    if (v === undefined || v === null) return;
    this.seen++;
    const a = this.ops.action(c);
    if (a === 'keep') return;
    if (a === 'drop') {
      if (Array.isArray(holder)) holder[member] = null;
      else delete holder[member];
      this.changed = true;
      this.touched.add(c);
      return;
    }
    const next = this.ops.replacement(v, c);
    if (next !== v) {
      holder[member] = next;
      this.changed = true;
      this.touched.add(c);
    }
  }

  /** Set when the body nests deeper than the walk follows: it is then treated as a whole. */
  tooDeep = false;

  node(v: unknown, ctx: Ctx, depth: number): void {
    if (depth > MAX_DEPTH) {
      this.tooDeep = true;
      return;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (typeof v[i] === 'string') this.member(v as unknown as Holder, i, ctx.text);
        else this.node(v[i], ctx, depth + 1);
      }
      return;
    }
    if (!isObj(v)) return;
    if (!ctx.fixed && typeof v.role === 'string') ctx = { text: roleCategory(v.role), fixed: false };
    const type = typeof v.type === 'string' ? v.type : undefined;
    const toolCall = type === 'tool_call' || (typeof v.name === 'string' && ('args' in v || 'arguments' in v) && !('parts' in v));
    for (const k of Object.keys(v)) {
      const x = v[k];
      switch (k) {
        case 'text':
          if (typeof x === 'string') this.member(v, k, v.thought === true ? 'response' : ctx.text);
          else this.node(x, ctx, depth + 1);
          break;
        case 'content':
          if (typeof x === 'string') this.member(v, k, type === 'tool_call_response' ? 'tool_output' : type === 'reasoning' ? 'response' : ctx.text);
          else this.node(x, ctx, depth + 1);
          break;
        case 'args':
        case 'arguments':
          if (toolCall) this.member(v, k, 'tool_arguments');
          else this.node(x, ctx, depth + 1);
          break;
        case 'functionCall':
        case 'executableCode':
          if (isObj(x)) {
            this.member(x, 'args', 'tool_arguments');
            this.member(x, 'code', 'tool_arguments');
          }
          break;
        case 'functionResponse':
        case 'codeExecutionResult':
          if (isObj(x)) {
            this.member(x, 'response', 'tool_output');
            this.member(x, 'output', 'tool_output');
          }
          break;
        case 'response':
        case 'result':
          // A tool's answer: the GenAI tool_call_response part, or Gemini CLI's completed call.
          if (type === 'tool_call_response' || 'request' in v || toolCall || 'callId' in v) this.member(v, k, 'tool_output');
          else this.node(x, ctx, depth + 1);
          break;
        case 'display':
          // Gemini CLI shows the command line as the description, and the output as the result.
          if (isObj(x)) {
            this.member(x, 'description', 'tool_arguments');
            this.member(x, 'result', 'tool_output');
          }
          break;
        case 'resultDisplay':
        case 'llmContent':
          this.member(v, k, 'tool_output');
          break;
        case 'inlineData':
          if (isObj(x)) this.member(x, 'data', ctx.text);
          break;
        case 'candidates':
          this.node(x, ctx.fixed ? ctx : { text: 'response', fixed: false }, depth + 1);
          break;
        case 'tool':
        case 'parameterSchema':
          break; // a tool's definition, not content
        default:
          if (typeof x === 'object' && x !== null) this.node(x, ctx, depth + 1);
      }
    }
  }
}

export interface MessageResult {
  /** The new text; undefined when nothing changed. */
  text: string | undefined;
  /** Content categories that were masked, hashed or dropped. */
  touched: Set<Category>;
}

const START: Record<Exclude<Shape, 'text'>, Ctx> = {
  gemini_request: { text: 'prompt', fixed: false },
  gemini_response: { text: 'response', fixed: false },
  genai_input: { text: 'prompt', fixed: false },
  genai_output: { text: 'response', fixed: false },
  genai_system: { text: 'system_instructions', fixed: true },
};

/** True when the parsed value holds a non-empty string anywhere (the walk has checked its depth). */
function hasText(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return v.length > 0;
  if (depth > MAX_DEPTH) return true;
  if (typeof v !== 'object' || v === null) return false;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (hasText(x, depth + 1)) return true;
  return false;
}

/**
 * Applies the content actions inside a message body and scrubs what is kept. Returns
 * undefined when `text` is not JSON, or is JSON in which the walk recognised no content
 * although it holds text: the caller then treats the field as a whole, by its name.
 */
export function rewriteMessageBody(text: string, shape: Exclude<Shape, 'text'>, ops: MessageOps): MessageResult | undefined {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof root !== 'object' || root === null) return undefined;
  const holder: Obj = { root };
  const w = new Walk(ops);
  w.node(root, START[shape], 0);
  if (w.tooDeep || (w.seen === 0 && hasText(root))) return undefined;
  const scrubbed = ops.scrubTree(holder, 'root', undefined);
  if (!w.changed && !scrubbed) return { text: undefined, touched: w.touched };
  try {
    return { text: JSON.stringify(holder.root, null, indentOf(text)), touched: w.touched };
  } catch (e) {
    // Nested deeper than JSON.stringify can go: treated as a whole instead.
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

/** The indentation of pretty-printed JSON (spaces before the first member), or 0 for compact text. */
function indentOf(text: string): number {
  const m = /^\s*[[{]\r?\n( +)/.exec(text.slice(0, 64));
  return m ? m[1].length : 0;
}
