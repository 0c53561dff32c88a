// agent_normalize: makes the three coding agents' telemetry read alike (see README.md):
// log times filled in, LogRecord eventName taken from the event.name attribute (and
// Claude Code's bare names prefixed), numbers that arrive as strings turned into
// numbers, and agent.name added. Each fix has its own switch; all are on by default,
// except rewriting the event.name attribute itself.
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { simpleProcessor } from '../../src/pipeline/simple-processor';
import type { LogsRequest, MetricsRequest, TracesRequest } from '../../src/otlp/model';
import { AGENTS, agentDetector } from './agents';
import { normalizeLogs, normalizeMetrics, normalizeTraces, type Plan } from './normalize';
import type { NumberKind } from './values';

/** Attributes the agents send as decimal strings (or ints) that hold whole numbers. */
export const DEFAULT_INT_ATTRIBUTES = [
  // Claude Code: tool_result and user_prompt send these as strings.
  'duration_ms', 'prompt_length', 'tool_input_size_bytes', 'tool_result_size_bytes',
  // Codex: codex.sse_event (response.completed) sends some token counts as strings.
  'input_token_count', 'output_token_count', 'cached_token_count', 'cache_write_token_count',
  'reasoning_token_count', 'tool_token_count', 'ttft_ms',
  // Sent as ints today; listed so that a string from another version or SDK is turned too.
  'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'cost_usd_micros', 'response_length',
  'cached_content_token_count', 'thoughts_token_count', 'total_token_count',
];
export const DEFAULT_DOUBLE_ATTRIBUTES = ['cost_usd'];
/** Claude Code and Codex send tool_result `success` as the string "true". */
export const DEFAULT_BOOL_ATTRIBUTES = ['success'];

const keyList = (def: string[]) => s.list(s.string({ nonEmpty: true }), { default: def });

const schema = s.object(
  {
    timestamps: s.bool({ default: true }),
    event_name: s.bool({ default: true }),
    prefix_event_name: s.bool({ default: true }),
    prefix_event_name_attribute: s.bool({ default: false }),
    numbers: s.bool({ default: true }),
    int_attributes: keyList(DEFAULT_INT_ATTRIBUTES),
    double_attributes: keyList(DEFAULT_DOUBLE_ATTRIBUTES),
    bool_attributes: keyList(DEFAULT_BOOL_ATTRIBUTES),
    agent_name: s.bool({ default: true }),
    agent_name_target: s.oneOf<'resource' | 'record'>(['resource', 'record'], { default: 'resource' }),
    service_names: s.map(s.oneOf(AGENTS), { default: {} }),
  },
  {
    validate(v, path, ctx) {
      const seen = new Map<string, string>();
      for (const list of ['int_attributes', 'double_attributes', 'bool_attributes'] as const) {
        v[list].forEach((key, i) => {
          const other = seen.get(key);
          if (other) ctx.issues.push({ path: [...path, list, i], severity: 'error', message: `"${key}" is already listed in ${other}` });
          else seen.set(key, list);
        });
      }
    },
  },
);

export type AgentNormalizeConfig = SchemaType<typeof schema>;

export function planOf(config: AgentNormalizeConfig): Plan {
  const numbers = new Map<string, NumberKind>();
  if (config.numbers) {
    for (const k of config.int_attributes) numbers.set(k, 'int');
    for (const k of config.double_attributes) numbers.set(k, 'double');
    for (const k of config.bool_attributes) numbers.set(k, 'bool');
  }
  return {
    detect: agentDetector(config.service_names),
    timestamps: config.timestamps,
    eventName: config.event_name,
    prefixEventName: config.prefix_event_name,
    prefixEventNameAttribute: config.prefix_event_name_attribute,
    numbers,
    agentName: config.agent_name ? config.agent_name_target : 'off',
  };
}

export const agentNormalizeProcessor: ProcessorFactory<AgentNormalizeConfig> = {
  type: 'agent_normalize',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    const plan = planOf(config);
    const run =
      ctx.signal === 'logs'
        ? (m: unknown, w: boolean) => normalizeLogs(m as LogsRequest, plan, w)
        : ctx.signal === 'traces'
          ? (m: unknown, w: boolean) => normalizeTraces(m as TracesRequest, plan, w)
          : (m: unknown, w: boolean) => normalizeMetrics(m as MetricsRequest, plan, w);
    return simpleProcessor(ctx, next, (batch) => {
      if (run(batch.read(), false)) run(batch.editRecords(), true);
      return batch;
    });
  },
};
