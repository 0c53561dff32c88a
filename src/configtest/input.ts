// The inputs of a config test, turned into batches: an OTLP/JSON or protobuf file
// (a recorded agent request), an inline OTLP/JSON request, or the shorthand record
// lists `logs:`, `spans:` and `metrics:` for hand-written cases.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../otlp/batch';
import type { Signal } from '../otlp/schema';
import { s, type Ctx, type Schema } from '../config/schema';

const ROOT_KEY: Record<Signal, string> = { logs: 'resourceLogs', metrics: 'resourceMetrics', traces: 'resourceSpans' };

export interface InputSpec {
  receiver?: string;
  pipeline?: string;
  signal?: Signal;
  /** Set when the input is complete: a batch maker that reads files relative to the test file. */
  make: (baseDir: string) => Batch;
  describe: string;
}

type Json = Record<string, unknown>;

/** A plain YAML value as an OTLP/JSON AnyValue. */
export function anyValueOf(v: unknown): Json {
  if (v === null || v === undefined) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValueOf) } };
  return { kvlistValue: { values: attributesOf(v as Json) } };
}

export function attributesOf(map: Json | undefined): Json[] {
  return Object.entries(map ?? {}).map(([key, value]) => ({ key, value: anyValueOf(value) }));
}

const plainMap = s.map(s.custom<unknown>('any value', (v) => v));
let idCounter = 0;
const hexId = (bytes: number) => (++idCounter).toString(16).padStart(bytes * 2, '0');
const nowNanos = () => (BigInt(Date.now()) * 1_000_000n).toString();

const logRecord = s.object({
  resource: plainMap,
  scope: s.string({ default: 'agentrelay.test' }),
  attributes: plainMap,
  body: s.custom<unknown>('any value', (v) => v),
  severity_text: s.string({ default: '' }),
  severity_number: s.number({ default: 0, min: 0, max: 24, integer: true }),
});

const spanRecord = s.object(
  {
    resource: plainMap,
    scope: s.string({ default: 'agentrelay.test' }),
    name: s.string({ nonEmpty: true }),
    kind: s.number({ default: 1, min: 0, max: 5, integer: true }),
    status: s.oneOf(['unset', 'ok', 'error'] as const, { default: 'unset' }),
    attributes: plainMap,
  },
  { required: ['name'] },
);

const metricRecord = s.object(
  {
    resource: plainMap,
    scope: s.string({ default: 'agentrelay.test' }),
    name: s.string({ nonEmpty: true }),
    unit: s.string({ default: '' }),
    type: s.oneOf(['sum', 'gauge'] as const, { default: 'sum' }),
    temporality: s.oneOf(['delta', 'cumulative'] as const, { default: 'delta' }),
    value: s.number(),
    attributes: plainMap,
  },
  { required: ['name', 'value'] },
);

function shorthand(signal: Signal, records: Json[]): Json {
  if (signal === 'logs') {
    return {
      resourceLogs: records.map((r) => ({
        resource: { attributes: attributesOf(r.resource as Json) },
        scopeLogs: [
          {
            scope: { name: r.scope },
            logRecords: [
              {
                timeUnixNano: nowNanos(),
                severityNumber: r.severity_number,
                severityText: r.severity_text,
                ...(r.body === undefined ? {} : { body: anyValueOf(r.body) }),
                attributes: attributesOf(r.attributes as Json),
              },
            ],
          },
        ],
      })),
    };
  }
  if (signal === 'traces') {
    const codes = { unset: 0, ok: 1, error: 2 } as const;
    return {
      resourceSpans: records.map((r) => {
        const start = BigInt(Date.now()) * 1_000_000n;
        return {
          resource: { attributes: attributesOf(r.resource as Json) },
          scopeSpans: [
            {
              scope: { name: r.scope },
              spans: [
                {
                  traceId: hexId(16),
                  spanId: hexId(8),
                  name: r.name,
                  kind: r.kind,
                  startTimeUnixNano: start.toString(),
                  endTimeUnixNano: (start + 1_000_000n).toString(),
                  attributes: attributesOf(r.attributes as Json),
                  status: { code: codes[r.status as keyof typeof codes] },
                },
              ],
            },
          ],
        };
      }),
    };
  }
  return {
    resourceMetrics: records.map((r) => {
      const value = r.value as number;
      const point = {
        attributes: attributesOf(r.attributes as Json),
        timeUnixNano: nowNanos(),
        ...(Number.isInteger(value) ? { asInt: String(value) } : { asDouble: value }),
      };
      const data =
        r.type === 'gauge'
          ? { gauge: { dataPoints: [point] } }
          : { sum: { dataPoints: [point], aggregationTemporality: r.temporality === 'delta' ? 1 : 2, isMonotonic: true } };
      return {
        resource: { attributes: attributesOf(r.resource as Json) },
        scopeMetrics: [{ scope: { name: r.scope }, metrics: [{ name: r.name, unit: r.unit, ...data }] }],
      };
    }),
  };
}

function signalOfRequest(obj: unknown): Signal | undefined {
  if (obj === null || typeof obj !== 'object') return undefined;
  for (const sig of ['logs', 'metrics', 'traces'] as Signal[]) if (ROOT_KEY[sig] in obj || ROOT_KEY[sig].replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()) in obj) return sig;
  return undefined;
}

function signalOfFile(file: string): Signal | undefined {
  const m = /(logs|metrics|traces)[^/\\]*\.(json|pb|bin)$/.exec(path.basename(file));
  return m ? (m[1] as Signal) : undefined;
}

/** One input of a test case, checked: exactly one of file, otlp, logs, spans, metrics. */
export const inputSchema: Schema<InputSpec> = s.custom<InputSpec>('input (file, otlp, logs, spans or metrics)', (v, p, ctx) => {
  const fail = (path: (string | number)[], message: string) => {
    ctx.issues.push({ path, message, severity: 'error' });
    return undefined;
  };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(p, 'expected a map with one of file, otlp, logs, spans, metrics');
  const m = v as Json;
  const known = ['receiver', 'pipeline', 'signal', 'file', 'otlp', 'logs', 'spans', 'metrics'];
  for (const k of Object.keys(m)) if (!known.includes(k)) fail([...p, k], `unknown key (known: ${known.join(', ')})`);
  const sources = ['file', 'otlp', 'logs', 'spans', 'metrics'].filter((k) => m[k] !== undefined);
  if (sources.length !== 1) return fail(p, `needs exactly one of file, otlp, logs, spans, metrics (got ${sources.length ? sources.join(', ') : 'none'})`);
  if (m.receiver !== undefined && m.pipeline !== undefined) return fail(p, 'give receiver or pipeline, not both');
  for (const k of ['receiver', 'pipeline'] as const)
    if (m[k] !== undefined && (typeof m[k] !== 'string' || m[k] === '')) return fail([...p, k], 'expected a component id');
  let signal: Signal | undefined;
  if (m.signal !== undefined) {
    if (!['logs', 'metrics', 'traces'].includes(m.signal as string)) return fail([...p, 'signal'], 'expected logs, metrics or traces');
    signal = m.signal as Signal;
  }
  const base = { receiver: m.receiver as string | undefined, pipeline: m.pipeline as string | undefined };
  const source = sources[0];

  if (source === 'file') {
    if (typeof m.file !== 'string' || !m.file) return fail([...p, 'file'], 'expected a path (relative to the test file)');
    const file = m.file;
    signal ??= signalOfFile(file);
    const declared = signal;
    return {
      ...base,
      signal,
      describe: file,
      make(baseDir) {
        const full = path.resolve(baseDir, file);
        const bytes = fs.readFileSync(full);
        if (/\.json$/i.test(full)) {
          const obj = JSON.parse(bytes.toString('utf8'));
          const sig = declared ?? signalOfRequest(obj);
          if (!sig) throw new Error(`${file}: not an OTLP/JSON export request (no resourceLogs, resourceMetrics or resourceSpans)`);
          return Batch.fromJsonObject(sig, obj);
        }
        if (!declared) throw new Error(`${file}: say which signal this protobuf request is (signal: logs|metrics|traces)`);
        return Batch.fromProto(declared, bytes);
      },
    };
  }
  if (source === 'otlp') {
    const sig = signal ?? signalOfRequest(m.otlp);
    if (!sig) return fail([...p, 'otlp'], 'expected an OTLP/JSON export request with resourceLogs, resourceMetrics or resourceSpans');
    const obj = m.otlp;
    try {
      Batch.fromJsonObject(sig, obj);
    } catch (e) {
      return fail([...p, 'otlp'], `not an OTLP/JSON ${sig} request: ${(e as Error).message}`);
    }
    return { ...base, signal: sig, describe: 'inline OTLP/JSON', make: () => Batch.fromJsonObject(sig, obj) };
  }
  const sig: Signal = source === 'logs' ? 'logs' : source === 'spans' ? 'traces' : 'metrics';
  if (signal && signal !== sig) return fail([...p, 'signal'], `${source} are ${sig}`);
  const recordSchema = (source === 'logs' ? logRecord : source === 'spans' ? spanRecord : metricRecord) as Schema<unknown>;
  const list = s.list(recordSchema, { minItems: 1 }).check(m[source], [...p, source], ctx as Ctx);
  if (!list) return undefined;
  const obj = shorthand(sig, list as Json[]);
  return { ...base, signal: sig, describe: `${list.length} ${source} record(s)`, make: () => Batch.fromJsonObject(sig, obj) };
});
