// Request pools shaped like the agents' real payloads, built from the recorded
// fixtures: each variant gets fresh ids, timestamps and values, so the relay never
// sees the same bytes twice in a row (the pool is cycled only after it is used up).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { Batch } from '../src/otlp/batch';
import type { Signal } from '../src/otlp/schema';
import type { KeyValue, LogsRequest, MetricsRequest, TracesRequest } from '../src/otlp/model';
import { dataPointsOf } from '../src/otlp/model';

export const FIXTURES = process.env.AGENT_FIXTURES ?? path.resolve(__dirname, '../../../shared/fixtures/agents');

export const SEQ_KEY = 'bench.seq';
export const SEQ_ZERO = '000000000000';

function resourcesOf(signal: Signal, model: unknown): { attributes: KeyValue[] }[] {
  const list = (model as Record<string, { resource?: { attributes: KeyValue[] } | null }[]>)[
    signal === 'logs' ? 'resourceLogs' : signal === 'traces' ? 'resourceSpans' : 'resourceMetrics'
  ];
  return list.map((r) => {
    if (!r.resource) r.resource = { attributes: [] };
    r.resource.attributes ??= [];
    return r.resource;
  });
}

/** Offsets of the sequence digits in an encoded request (protobuf or JSON). */
export function seqOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  let at = buf.indexOf(SEQ_KEY);
  while (at >= 0) {
    const digits = buf.indexOf(SEQ_ZERO, at);
    if (digits < 0) break;
    out.push(digits);
    at = buf.indexOf(SEQ_KEY, digits);
  }
  return out;
}

/** Sequence numbers found in a request that reached the sink. */
export function readSeqs(buf: Buffer): number[] {
  const out: number[] = [];
  let at = buf.indexOf(SEQ_KEY);
  while (at >= 0) {
    // Protobuf: key, then 4 bytes of tags and lengths; JSON: `","value":{"stringValue":"`.
    const m = /\d{12}/.exec(buf.toString('latin1', at + SEQ_KEY.length, at + SEQ_KEY.length + 40));
    if (m) out.push(Number(m[0]));
    at = buf.indexOf(SEQ_KEY, at + SEQ_KEY.length);
  }
  return out;
}

export interface Workload {
  name: string;
  signal: Signal;
  /** Protobuf export requests, all different. */
  requests: Buffer[];
  /** OTLP/JSON bodies of the same requests (for JSON senders). */
  json?: Buffer[];
  recordsPerRequest: number[];
}

function load(file: string, signal: Signal): Batch {
  const p = path.join(FIXTURES, file);
  return p.endsWith('.pb')
    ? Batch.fromProto(signal, fs.readFileSync(p))
    : Batch.fromJsonObject(signal, JSON.parse(fs.readFileSync(p, 'utf8')));
}

const uuid = () => crypto.randomUUID();
const rid = (n: number) => crypto.randomBytes(n);

/** Keys of session and prompt ids, which the soak makes new in every request. */
const SESSION_OR_PROMPT = /(^|\.)(session\.id|session_id|conversation\.id|prompt\.id|prompt_id)$/;

/**
 * New ids for the variant. With `fresh`, session and prompt ids become a marker that the
 * load generator overwrites with the request's sequence number, so that every request
 * comes from a new session with a new prompt.
 */
function vary(attrs: KeyValue[] | undefined, ids: Map<string, string>, fresh: boolean): void {
  for (const kv of attrs ?? []) {
    const v = kv.value;
    if (!v || !Object.prototype.hasOwnProperty.call(v, 'stringValue')) continue;
    if (fresh && SESSION_OR_PROMPT.test(kv.key)) {
      kv.value = { stringValue: `${SEQ_KEY}-${SEQ_ZERO}` };
    } else if (/(^|\.)(session\.id|session_id|conversation\.id|prompt\.id|prompt_id|request_id|installation\.id|tool_use_id|call_id)$/.test(kv.key)) {
      const old = v.stringValue as string;
      if (!ids.has(old)) ids.set(old, uuid());
      kv.value = { stringValue: ids.get(old)! };
    }
  }
}

/** `count` variants of a fixture request, with new ids and times. */
function variants(file: string, signal: Signal, count: number, withJson: boolean, marked = true, fresh = false): Workload {
  const base = Buffer.from(load(file, signal).toProto());
  const requests: Buffer[] = [];
  const json: Buffer[] = [];
  const recordsPerRequest: number[] = [];
  for (let i = 0; i < count; i++) {
    const b = Batch.fromProto(signal, base);
    const model = b.edit();
    const ids = new Map<string, string>();
    const shiftNs = BigInt(i) * 1_000_000n;
    const traceIds = new Map<string, Buffer>();
    const spanIds = new Map<string, Buffer>();
    const mapId = (m: Map<string, Buffer>, id: Uint8Array | undefined, n: number) => {
      if (!id || id.length === 0) return id;
      const k = Buffer.from(id).toString('hex');
      if (!m.has(k)) m.set(k, rid(n));
      return m.get(k)!;
    };
    if (signal === 'logs') {
      for (const rl of (model as LogsRequest).resourceLogs)
        for (const sl of rl.scopeLogs)
          for (const lr of sl.logRecords) {
            vary(lr.attributes, ids, fresh);
            lr.timeUnixNano = (BigInt(String(lr.timeUnixNano ?? 0)) + shiftNs).toString();
            lr.traceId = mapId(traceIds, lr.traceId, 16);
            lr.spanId = mapId(spanIds, lr.spanId, 8);
          }
    } else if (signal === 'traces') {
      for (const rs of (model as TracesRequest).resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const sp of ss.spans) {
            vary(sp.attributes, ids, fresh);
            sp.traceId = mapId(traceIds, sp.traceId, 16);
            sp.spanId = mapId(spanIds, sp.spanId, 8);
            sp.parentSpanId = mapId(spanIds, sp.parentSpanId, 8);
            sp.startTimeUnixNano = (BigInt(String(sp.startTimeUnixNano ?? 0)) + shiftNs).toString();
            sp.endTimeUnixNano = (BigInt(String(sp.endTimeUnixNano ?? 0)) + shiftNs).toString();
          }
    } else {
      for (const rm of (model as MetricsRequest).resourceMetrics) {
        vary(rm.resource?.attributes, ids, fresh);
        for (const sm of rm.scopeMetrics)
          for (const m of sm.metrics)
            for (const dp of dataPointsOf(m)) {
              vary(dp.attributes, ids, fresh);
              if (Object.prototype.hasOwnProperty.call(dp, 'asDouble')) dp.asDouble = (dp.asDouble as number) + i;
            }
      }
    }
    // A fixed-width marker on every resource: the load generator writes the request's
    // sequence number into it in place and the sink reads it back to time each request.
    if (marked) for (const r of resourcesOf(signal, model)) r.attributes.push({ key: SEQ_KEY, value: { stringValue: SEQ_ZERO } });
    requests.push(Buffer.from(b.toProto()));
    if (withJson) json.push(b.toJson());
    recordsPerRequest.push(b.itemCount());
  }
  return { name: '', signal, requests, json: withJson ? json : undefined, recordsPerRequest };
}

export function buildWorkload(name: string, count = 300): Workload {
  switch (name) {
    case 'claude-logs':
      return { ...variants('claude-code/protobuf/01-logs.pb', 'logs', count, true), name };
    case 'codex-traces':
      return { ...variants('codex/exec-protobuf/01-traces.pb', 'traces', Math.max(20, Math.floor(count / 10)), false), name };
    case 'gemini-logs':
      return { ...variants('gemini-cli/noninteractive/02-logs.json', 'logs', count, true), name };
    // Codex exec's traces as it sends them over OTLP/HTTP JSON: 512 spans, about 1.2 MB a request.
    case 'codex-traces-json':
      return { ...variants('codex/exec/01-traces.json', 'traces', Math.max(20, Math.floor(count / 10)), true), name };
    // Gemini CLI's metrics, recurring as 'metrics' does (OTLP/JSON, as Gemini CLI sends them).
    case 'gemini-metrics':
      return { ...variants('gemini-cli/noninteractive/03-metrics.json', 'metrics', count, true, false), name };
    // The same agents reporting again and again: each variant's series recur every pool cycle,
    // as a fleet's do. No marker: on a resource it would make every request's series new.
    case 'metrics':
      return { ...variants('codex/exec-protobuf/03-metrics.pb', 'metrics', Math.max(20, Math.floor(count / 5)), false, false), name };
    // The soak's workloads: every request from a new session with a new prompt (their ids carry the marker).
    case 'claude-logs-sessions':
      return { ...variants('claude-code/protobuf/01-logs.pb', 'logs', count, false, false, true), name };
    // Claude Code's metrics: Codex puts no session or prompt id on its metrics.
    case 'metrics-sessions':
      return { ...variants('claude-code/protobuf/02-metrics.pb', 'metrics', count, false, false, true), name };
    // The worst case for metric state: every request is a new source (the marker is on its resource).
    case 'metrics-fresh':
      return { ...variants('codex/exec-protobuf/03-metrics.pb', 'metrics', Math.max(20, Math.floor(count / 5)), false), name };
    default:
      throw new Error(`unknown workload ${name}`);
  }
}
