// Synthetic agent telemetry for the sampling tests: prompt cycles of the three agents,
// shaped as the recorded fixtures are (event names, id attributes, where trace ids
// appear), generated from a seed so every run and every process sees the same data.
// Every log record and span carries what the test needs to judge the outcome without
// the processor's help: test.id (unique), test.kind (tool_decision | error | other)
// and test.cycle (the prompt cycle, or trace, it belongs to).
import type { KeyValue, LogRecord, LogsRequest, Span, TracesRequest } from '../../src/otlp/model';

export interface SyntheticOptions {
  /** About this many log records (the generator stops at the first cycle boundary past it). */
  records: number;
  seed?: number;
  /** About this many log records per request; requests are cut at cycle boundaries only. */
  perRequest?: number;
  /** Share of log records that are tool decisions. */
  toolDecisionShare?: number;
  /** Share of log records that are errors (API errors, WARN and above). */
  errorShare?: number;
}

export interface Synthetic {
  logs: LogsRequest[];
  traces: TracesRequest[];
  logCount: number;
  spanCount: number;
  sessions: number;
  cycles: number;
}

type Kind = 'tool_decision' | 'error' | 'other';

/** A small deterministic PRNG (mulberry32), so data never depends on Math.random. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): KeyValue => ({ key, value: { intValue: v } });

export function synthesize(opts: SyntheticOptions): Synthetic {
  const rand = prng(opts.seed ?? 1);
  const perRequest = opts.perRequest ?? 2000;
  const toolShare = opts.toolDecisionShare ?? 0.01;
  const errorShare = opts.errorShare ?? 0.005;
  const hex = (bytes: number) => {
    let s = '';
    for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
    return s;
  };
  const uuid = () => {
    const h = hex(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const idBytes = (bytes: number) => Buffer.from(hex(bytes), 'hex');

  const out: Synthetic = { logs: [], traces: [], logCount: 0, spanCount: 0, sessions: 0, cycles: 0 };
  let logs: LogsRequest = { resourceLogs: [] };
  let traces: TracesRequest = { resourceSpans: [] };
  let inRequest = 0;
  let seq = 0;
  let time = 1795450280000000000n;

  const flush = () => {
    if (logs.resourceLogs.length) out.logs.push(logs);
    if (traces.resourceSpans.length) out.traces.push(traces);
    logs = { resourceLogs: [] };
    traces = { resourceSpans: [] };
    inRequest = 0;
  };

  const roll = (): Kind => {
    const x = rand();
    return x < toolShare ? 'tool_decision' : x < toolShare + errorShare ? 'error' : 'other';
  };

  while (out.logCount < opts.records) {
    const agent = (['claude', 'gemini', 'codex'] as const)[out.sessions % 3];
    const interactive = Math.floor(out.sessions / 3) % 2 === 0;
    out.sessions++;
    const session = uuid();
    const serviceName = agent === 'claude' ? 'claude-code' : agent === 'gemini' ? 'gemini-cli' : 'codex_exec';
    const resourceAttrs = [str('service.name', serviceName), ...(agent === 'gemini' ? [str('session.id', session)] : [])];
    const records: LogRecord[] = [];
    const spans: Span[] = [];
    let errorTurn = 0;

    /**
     * A log record of a cycle. Any record may turn out (by the roll) to be the agent's tool
     * decision or an error instead, keeping its ids and trace, so 1 % of all records are
     * tool decisions wherever they fall in a cycle.
     */
    const log = (event: string, cycle: string, attrs: KeyValue[], extra: Partial<LogRecord> = {}) => {
      const kind = roll();
      let name = event;
      let more: KeyValue[] = [];
      let ext = extra;
      if (kind === 'tool_decision') {
        if (agent === 'claude') [name, more] = ['tool_decision', [str('decision', 'accept'), str('source', 'config'), str('tool_name', 'Bash')]];
        else if (agent === 'gemini') [name, more] = ['gemini_cli.tool_call', [str('function_name', 'run_shell_command'), str('decision', 'accept')]];
        else [name, more] = ['codex.tool_decision', [str('decision', 'approved'), str('source', 'Config')]];
      } else if (kind === 'error') {
        const how = errorTurn++ % 4;
        if (how === 0) ext = { ...extra, severityNumber: 13, severityText: 'WARN' };
        else if (agent === 'claude') [name, more] = ['api_error', [str('error', 'overloaded'), int('status_code', 529)]];
        else if (agent === 'gemini') [name, more] = ['gemini_cli.api_error', [str('error', 'quota'), int('status_code', 429)]];
        else if (how === 1) [name, more] = ['codex.api_request', [int('http.response.status_code', 500)]];
        else [name, more] = ['codex.api_request', [str('error.message', 'stream disconnected')]];
      }
      time += 1000000n;
      records.push({
        timeUnixNano: time.toString(),
        attributes: [str('event.name', name), ...attrs.filter((a) => !more.some((m) => m.key === a.key)), ...more, str('test.id', `L${++seq}`), str('test.kind', kind), str('test.cycle', cycle)],
        ...ext,
      });
      out.logCount++;
    };
    const span = (name: string, traceId: Buffer, parent: Buffer | undefined, cycle: string, attrs: KeyValue[], failed = false) => {
      const spanId = idBytes(8);
      time += 1000000n;
      spans.push({
        traceId,
        spanId,
        parentSpanId: parent,
        name,
        kind: 1,
        startTimeUnixNano: time.toString(),
        endTimeUnixNano: (time + 500000n).toString(),
        attributes: [...attrs, str('test.id', `S${++seq}`), str('test.kind', failed ? 'error' : 'other'), str('test.cycle', cycle)],
        events: [],
        links: [],
        status: failed ? { code: 2, message: 'failed' } : { code: 1 },
      });
      out.spanCount++;
      return spanId;
    };
    const failing = () => rand() < errorShare;

    if (agent === 'claude') {
      const base = [str('session.id', session), str('terminal.type', 'xterm')];
      // The title request of a session has no prompt id: it is decided with the session alone.
      log('api_request', `${session}/-`, [...base, str('query_source', 'generate_session_title'), { key: 'cost_usd', value: { doubleValue: 0.0007 } }]);
      out.cycles++;
      for (let p = 0; p < 5; p++) {
        const prompt = uuid();
        const cycle = `${session}/${prompt}`;
        const b = [...base, str('prompt.id', prompt)];
        out.cycles++;
        log('user_prompt', cycle, [...b, str('prompt_length', '20')]);
        for (let k = 0; k < 7; k++) log(k % 2 ? 'api_request' : 'tool_result', cycle, [...b, str('model', 'claude-opus-4-8'), { key: 'cost_usd', value: { doubleValue: 0.03 } }]);
      }
    } else if (agent === 'gemini' && interactive) {
      // Interactive: prompt ids <session>########<n>; the llm_call spans sit in the user_prompt trace.
      const base = [str('session.id', session), str('installation.id', 'd76e96b8-7c5a-410f-9c57-a8660f4c691d')];
      for (let p = 0; p < 3; p++) {
        const prompt = `${session}########${p}`;
        const cycle = `${session}/${prompt}`;
        const b = [...base, str('prompt_id', prompt)];
        out.cycles++;
        const turn = idBytes(16);
        const root = span('user_prompt', turn, undefined, cycle, [str('gen_ai.conversation.id', session)]);
        log('gemini_cli.user_prompt', cycle, [...b, int('prompt_length', 25)], { traceId: turn, spanId: root });
        for (let k = 0; k < 2; k++) {
          const call = span('llm_call', turn, root, cycle, [str('gen_ai.conversation.id', session), str('gen_ai.prompt.name', prompt)], failing());
          log('gemini_cli.api_request', cycle, [...b, str('model', 'gemini-2.5-flash')], { traceId: turn, spanId: call });
          // The gen_ai.* records and model_routing carry only the session: their trace ties them to the prompt.
          log('gen_ai.client.inference.operation.details', cycle, [...base], { traceId: turn, spanId: call });
          log('gemini_cli.api_response', cycle, [...b, int('input_token_count', 1200)], { traceId: turn, spanId: call });
        }
        log('gemini_cli.model_routing', cycle, [...base, str('decision_model', 'gemini-2.5-flash')], { traceId: turn, spanId: root });
        const sched = span('schedule_tool_calls', turn, root, cycle, [str('gen_ai.conversation.id', session)]);
        span('tool_call', turn, sched, cycle, [str('gen_ai.tool.name', 'run_shell_command')]);
      }
      // The summary call: a constant prompt id, and an llm_call trace of its own.
      const cycle = `${session}/session-summary-generation`;
      const b = [...base, str('prompt_id', 'session-summary-generation')];
      out.cycles++;
      const summary = idBytes(16);
      const call = span('llm_call', summary, undefined, cycle, [str('gen_ai.conversation.id', session), str('gen_ai.prompt.name', 'session-summary-generation')]);
      log('gemini_cli.api_request', cycle, [...b, str('model', 'gemini-2.5-flash-lite')], { traceId: summary, spanId: call });
      log('gen_ai.client.inference.operation.details', cycle, [...base], { traceId: summary, spanId: call });
      log('gemini_cli.api_response', cycle, [...b, int('input_token_count', 300)], { traceId: summary, spanId: call });
    } else if (agent === 'gemini') {
      // gemini -p: the prompt id is the session id, and every llm_call is a trace of its own.
      const base = [str('session.id', session), str('installation.id', 'd76e96b8-7c5a-410f-9c57-a8660f4c691d')];
      const cycle = `${session}/${session}`;
      const b = [...base, str('prompt_id', session)];
      out.cycles++;
      log('gemini_cli.config', cycle, [...base, str('approval_mode', 'yolo')]);
      log('gemini_cli.user_prompt', cycle, [...b, int('prompt_length', 25)]);
      for (let k = 0; k < 4; k++) {
        const trace = idBytes(16);
        const call = span('llm_call', trace, undefined, cycle, [str('gen_ai.conversation.id', session), str('gen_ai.prompt.name', session)], failing());
        log('gemini_cli.api_request', cycle, [...b, str('model', 'gemini-2.5-flash')], { traceId: trace, spanId: call });
        log('gen_ai.client.inference.operation.details', cycle, [...base], { traceId: trace, spanId: call });
        log('gemini_cli.api_response', cycle, [...b, int('input_token_count', 1200)]);
        log('gemini_cli.model_routing', cycle, [...base]);
      }
      // schedule_tool_calls: a trace of its own that carries only the conversation.
      const tools = idBytes(16);
      const sched = span('schedule_tool_calls', tools, undefined, cycle, [str('gen_ai.conversation.id', session)]);
      span('tool_call', tools, sched, cycle, [str('gen_ai.tool.name', 'run_shell_command')]);
    } else {
      // Codex: the conversation is the unit; turn traces carry conversation.id on a few spans only.
      const conv = uuid();
      const cycle = conv;
      out.cycles++;
      const base = [str('conversation.id', conv), str('originator', 'codex_exec')];
      for (let turn = 0; turn < 3; turn++) {
        const trace = idBytes(16);
        const root = span('turn/start', trace, undefined, cycle, []);
        const sampling = span('codex.sampling', trace, root, cycle, [str('conversation.id', conv)]);
        span('handle_responses', trace, sampling, cycle, [], failing());
        log('codex.user_prompt', cycle, [...base, str('prompt_length', '25')], { traceId: trace, spanId: root, severityNumber: 9 });
        log('codex.api_request', cycle, [...base, int('http.response.status_code', 200)], { traceId: trace, spanId: sampling, severityNumber: 9 });
        // sse events carry an empty trace id, as Codex sends them.
        for (let k = 0; k < 3; k++) log('codex.sse_event', cycle, [...base, str('event.kind', 'response.completed')], { traceId: Buffer.alloc(0), severityNumber: 9 });
      }
      // Start-up spans outside any turn: decided by their trace id, each trace whole.
      const auth = idBytes(16);
      const authCycle = `trace:${auth.toString('hex')}`;
      const a = span('auth', auth, undefined, authCycle, []);
      span('fs.read_file', auth, a, authCycle, []);
    }

    // Gemini CLI puts the session on its resource; one resource per session keeps that true.
    logs.resourceLogs.push({ resource: { attributes: resourceAttrs }, scopeLogs: [{ scope: { name: serviceName, attributes: [] }, logRecords: records }] });
    if (spans.length) traces.resourceSpans.push({ resource: { attributes: resourceAttrs }, scopeSpans: [{ scope: { name: serviceName, attributes: [] }, spans }] });
    inRequest += records.length;
    if (inRequest >= perRequest) flush();
  }
  flush();
  return out;
}

/** What a sampling run did to synthetic data, judged from test.* attributes alone. */
export interface Assessment {
  logs: Record<Kind, { sent: number; kept: number }>;
  spans: Record<Kind, { sent: number; kept: number }>;
  /** Cycles whose ordinary records (logs and spans together) were partly kept. */
  brokenCycles: string[];
  /** Cycles with at least one ordinary record kept. */
  keptCycles: number;
  /** Kept records that are not among those sent, or sent twice. */
  unexpected: string[];
}

/** Flat view of items: their test attributes. */
export interface TestItem {
  id: string;
  kind: string;
  cycle: string;
}

export function testItemsOf(requests: (LogsRequest | TracesRequest | Record<string, unknown>)[]): TestItem[] {
  const out: TestItem[] = [];
  const read = (attrs: { key: string; value?: { stringValue?: string } | null }[] | undefined) => {
    const get = (k: string) => attrs?.find((a) => a.key === k)?.value?.stringValue ?? '';
    out.push({ id: get('test.id'), kind: get('test.kind'), cycle: get('test.cycle') });
  };
  for (const req of requests as { resourceLogs?: LogsRequest['resourceLogs']; resourceSpans?: TracesRequest['resourceSpans'] }[]) {
    for (const rl of req.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const r of sl.logRecords ?? []) read(r.attributes);
    for (const rs of req.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const r of ss.spans ?? []) read(r.attributes);
  }
  return out;
}

export function assess(sent: TestItem[], kept: TestItem[]): Assessment {
  const zero = () => ({ tool_decision: { sent: 0, kept: 0 }, error: { sent: 0, kept: 0 }, other: { sent: 0, kept: 0 } });
  const a: Assessment = { logs: zero(), spans: zero(), brokenCycles: [], keptCycles: 0, unexpected: [] };
  const keptIds = new Set<string>();
  const sentIds = new Set(sent.map((x) => x.id));
  for (const k of kept) {
    if (!sentIds.has(k.id) || keptIds.has(k.id)) a.unexpected.push(k.id);
    keptIds.add(k.id);
  }
  const cycles = new Map<string, { kept: number; dropped: number }>();
  for (const x of sent) {
    const bucket = (x.id.startsWith('L') ? a.logs : a.spans)[x.kind as Kind];
    const isKept = keptIds.has(x.id);
    bucket.sent++;
    if (isKept) bucket.kept++;
    if (x.kind !== 'other') continue;
    let c = cycles.get(x.cycle);
    if (!c) cycles.set(x.cycle, (c = { kept: 0, dropped: 0 }));
    if (isKept) c.kept++;
    else c.dropped++;
  }
  for (const [id, c] of cycles) {
    if (c.kept > 0 && c.dropped > 0) a.brokenCycles.push(id);
    if (c.kept > 0) a.keptCycles++;
  }
  return a;
}
