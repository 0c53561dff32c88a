// End to end with the real OpenTelemetry JS SDK as the client:
//
//   SDK --(logs: OTLP/gRPC, traces: OTLP/gRPC and OTLP/HTTP JSON,
//          metrics: OTLP/HTTP JSON and OTLP/HTTP protobuf)--> relay A
//   relay A --(logs, traces: `otlp` gRPC; metrics: `otlphttp` protobuf AND `otlphttp` json)--> relay B
//   relay B --> file exporter (one OTLP/JSON request per line)
//
// "What was sent" comes from the SDK side only: each SDK exporter is wrapped by a
// recorder that keeps the ReadableLogRecords / ReadableSpans / ResourceMetrics
// handed to it, which this file turns into OTLP/JSON with its own small converter
// (mirroring the OTLP spec's mapping, not the relay's codec), and the literal
// values, ids and timestamps passed to the SDK are checked again one by one.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  ValueType,
  createTraceState,
  trace,
  type Attributes,
  type HrTime,
  type Meter,
  type SpanContext,
} from '@opentelemetry/api';
import { SeverityNumber, type AnyValue, type LogAttributes } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type Histogram as SdkHistogram,
  type ExponentialHistogram as SdkExpHistogram,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { counterValue, freePort, readJsonLines, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { firstDifference } from '../helpers/otlp-compare';

// Talk to the local relays directly whatever the environment says about proxies
// (the relays inherit this environment too).
for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'grpc_proxy', 'all_proxy', 'ALL_PROXY']) delete process.env[k];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// ---------------------------------------------------------------------------
// SDK data -> OTLP/JSON (the spec's JSON mapping: hex ids, int64 as decimal strings, bytes as base64)

const nanos = (t: HrTime): string => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

function anyValue(v: unknown): Json {
  if (v === null || v === undefined) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (typeof v === 'object') return { kvlistValue: { values: keyValues(v as Record<string, unknown>) } };
  throw new Error(`not an attribute value: ${String(v)}`);
}

function keyValues(attrs: Record<string, unknown> | undefined): Json[] {
  return Object.entries(attrs ?? {}).map(([key, value]) => ({ key, value: anyValue(value) }));
}

/** Groups items by resource (identity) then scope (name, version, schemaUrl), keeping first-seen order. */
function group<T>(items: T[], resourceOf: (x: T) => object, scopeOf: (x: T) => { name: string; version?: string; schemaUrl?: string }) {
  const out = new Map<object, Map<string, T[]>>();
  for (const x of items) {
    const r = resourceOf(x);
    if (!out.has(r)) out.set(r, new Map());
    const s = scopeOf(x);
    const key = `${s.name}@${s.version ?? ''}:${s.schemaUrl ?? ''}`;
    const m = out.get(r)!;
    if (!m.has(key)) m.set(key, []);
    m.get(key)!.push(x);
  }
  return out;
}

function resourceJson(r: { attributes: Attributes; schemaUrl?: string }): Json {
  return { attributes: keyValues(r.attributes) };
}

function scopeJson(s: { name: string; version?: string; attributes?: Record<string, unknown> }): Json {
  return { name: s.name, version: s.version, attributes: keyValues(s.attributes) };
}

function expectedLogs(records: ReadableLogRecord[]): Json {
  const resourceLogs = [];
  for (const [, scopes] of group(records, (r) => r.resource, (r) => r.instrumentationScope)) {
    const first = [...scopes.values()][0][0];
    resourceLogs.push({
      resource: resourceJson(first.resource),
      schemaUrl: first.resource.schemaUrl,
      scopeLogs: [...scopes.values()].map((rs) => ({
        scope: scopeJson(rs[0].instrumentationScope),
        schemaUrl: rs[0].instrumentationScope.schemaUrl,
        logRecords: rs.map((r) => ({
          timeUnixNano: nanos(r.hrTime),
          observedTimeUnixNano: nanos(r.hrTimeObserved),
          severityNumber: r.severityNumber,
          severityText: r.severityText,
          body: anyValue(r.body),
          eventName: r.eventName,
          attributes: keyValues(r.attributes),
          droppedAttributesCount: r.droppedAttributesCount,
          flags: r.spanContext?.traceFlags,
          traceId: r.spanContext?.traceId,
          spanId: r.spanContext?.spanId,
        })),
      })),
    });
  }
  return { resourceLogs };
}

/** OTLP span/link flags: W3C trace flags plus the "has is_remote" bit and the is_remote bit. */
const spanFlags = (traceFlags: number, isRemote: boolean | undefined) => (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);

function expectedSpans(spans: ReadableSpan[]): Json {
  const resourceSpans = [];
  for (const [, scopes] of group(spans, (s) => s.resource, (s) => s.instrumentationScope)) {
    const first = [...scopes.values()][0][0];
    resourceSpans.push({
      resource: resourceJson(first.resource),
      schemaUrl: first.resource.schemaUrl,
      scopeSpans: [...scopes.values()].map((ss) => ({
        scope: scopeJson(ss[0].instrumentationScope),
        schemaUrl: ss[0].instrumentationScope.schemaUrl,
        spans: ss.map((s) => ({
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          parentSpanId: s.parentSpanContext?.spanId,
          traceState: s.spanContext().traceState?.serialize(),
          name: s.name,
          kind: s.kind + 1, // the API has no UNSPECIFIED
          startTimeUnixNano: nanos(s.startTime),
          endTimeUnixNano: nanos(s.endTime),
          attributes: keyValues(s.attributes),
          droppedAttributesCount: s.droppedAttributesCount,
          events: s.events.map((e) => ({
            timeUnixNano: nanos(e.time),
            name: e.name,
            attributes: keyValues(e.attributes),
            droppedAttributesCount: e.droppedAttributesCount,
          })),
          droppedEventsCount: s.droppedEventsCount,
          links: s.links.map((l) => ({
            traceId: l.context.traceId,
            spanId: l.context.spanId,
            traceState: l.context.traceState?.serialize(),
            attributes: keyValues(l.attributes),
            droppedAttributesCount: l.droppedAttributesCount,
            flags: spanFlags(l.context.traceFlags, l.context.isRemote),
          })),
          droppedLinksCount: s.droppedLinksCount,
          status: { code: s.status.code, message: s.status.message },
          flags: spanFlags(s.spanContext().traceFlags, s.parentSpanContext?.isRemote),
        })),
      })),
    });
  }
  return { resourceSpans };
}

function expectedMetrics(rm: ResourceMetrics): Json {
  const temporality = (t: AggregationTemporality) => (t === AggregationTemporality.DELTA ? 1 : 2);
  return {
    resourceMetrics: [
      {
        resource: resourceJson(rm.resource),
        schemaUrl: rm.resource.schemaUrl,
        scopeMetrics: rm.scopeMetrics.map((sm) => ({
          scope: scopeJson(sm.scope),
          schemaUrl: sm.scope.schemaUrl,
          metrics: sm.metrics.map((m) => {
            const out: Json = { name: m.descriptor.name, description: m.descriptor.description, unit: m.descriptor.unit };
            const times = (p: { startTime: HrTime; endTime: HrTime; attributes: Attributes }) => ({
              attributes: keyValues(p.attributes),
              startTimeUnixNano: nanos(p.startTime),
              timeUnixNano: nanos(p.endTime),
            });
            const number = (p: { value: number; startTime: HrTime; endTime: HrTime; attributes: Attributes }) => ({
              ...times(p),
              ...(m.descriptor.valueType === ValueType.INT ? { asInt: String(p.value) } : { asDouble: p.value }),
            });
            switch (m.dataPointType) {
              case DataPointType.SUM:
                out.sum = { aggregationTemporality: temporality(m.aggregationTemporality), isMonotonic: m.isMonotonic, dataPoints: m.dataPoints.map(number) };
                break;
              case DataPointType.GAUGE:
                out.gauge = { dataPoints: m.dataPoints.map(number) };
                break;
              case DataPointType.HISTOGRAM:
                out.histogram = {
                  aggregationTemporality: temporality(m.aggregationTemporality),
                  dataPoints: m.dataPoints.map((p) => {
                    const h = p.value as SdkHistogram;
                    return {
                      ...times(p),
                      count: h.count,
                      sum: h.sum,
                      bucketCounts: h.buckets.counts,
                      explicitBounds: h.buckets.boundaries,
                      min: h.min,
                      max: h.max,
                    };
                  }),
                };
                break;
              case DataPointType.EXPONENTIAL_HISTOGRAM:
                out.exponentialHistogram = {
                  aggregationTemporality: temporality(m.aggregationTemporality),
                  dataPoints: m.dataPoints.map((p) => {
                    const h = p.value as SdkExpHistogram;
                    return {
                      ...times(p),
                      count: h.count,
                      sum: h.sum,
                      scale: h.scale,
                      zeroCount: h.zeroCount,
                      positive: { offset: h.positive.offset, bucketCounts: h.positive.bucketCounts },
                      negative: { offset: h.negative.offset, bucketCounts: h.negative.bucketCounts },
                      min: h.min,
                      max: h.max,
                    };
                  }),
                };
                break;
            }
            return out;
          }),
        })),
      },
    ],
  };
}

/** Pairs every expected document with a distinct received one that equals it; fails with the closest difference. */
/** The resource entries (resourceLogs, resourceSpans or resourceMetrics) of export requests, in order. */
function resourceEntries(requests: Json[]): Json[] {
  return requests.flatMap((r) => (r.resourceLogs ?? r.resourceSpans ?? r.resourceMetrics ?? []) as Json[]);
}

/** What arrived, as one request per resource entry (relay A may have joined requests). */
function perResource(lines: Json[], key: 'resourceLogs' | 'resourceSpans' | 'resourceMetrics'): Json[] {
  return lines.flatMap((l) => ((l[key] ?? []) as Json[]).map((r) => ({ [key]: [r] })));
}

/**
 * Every sent request arrived unchanged. Relay A's exporter may send requests that wait
 * together as one (their resource entries concatenated), so what is compared is each
 * request's resource entries, in order, within what arrived.
 */
function assertSameRequests(what: string, expected: Json[], received: Json[]): void {
  const got = resourceEntries(received);
  assert.equal(got.length, resourceEntries(expected).length, `${what}: ${got.length} resource entries arrived, ${resourceEntries(expected).length} were sent`);
  const left = [...got];
  for (const [i, exp] of expected.entries()) {
    const entries = resourceEntries([exp]);
    // The entries of one request arrive side by side.
    let at = -1;
    for (let j = 0; j + entries.length <= left.length && at < 0; j++) {
      if (entries.every((e, k) => firstDifference(e, left[j + k]) === null)) at = j;
    }
    const diffs = left.map((r) => firstDifference(entries[0], r));
    assert.ok(at >= 0, `${what}: sent request #${i} did not arrive unchanged; differences: ${diffs.join(' | ')}`);
    left.splice(at, entries.length);
  }
}

// ---------------------------------------------------------------------------
// Received OTLP/JSON -> plain values, to compare with the literals given to the SDK

/** An AnyValue as a JS value, keeping its kind: ints as numbers (the test only uses safe integers). */
function plain(v: Json): unknown {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('bytesValue' in v) return new Uint8Array(Buffer.from(v.bytesValue as string, 'base64'));
  if ('arrayValue' in v) return ((v.arrayValue.values ?? []) as Json[]).map(plain);
  if ('kvlistValue' in v) return plainAttrs(v.kvlistValue.values);
  return null;
}

function plainAttrs(kvs: Json[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = plain(kv.value ?? {});
  return out;
}

/** The AnyValue member each attribute arrived as (stringValue, intValue, ...). */
function kinds(kvs: Json[] | undefined): Record<string, string> {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, Object.keys(kv.value ?? {})[0] ?? 'empty']));
}

// ---------------------------------------------------------------------------
// Recording wrappers around the SDK's OTLP exporters

type LogCallback = Parameters<LogRecordExporter['export']>[1];
type SpanCallback = Parameters<SpanExporter['export']>[1];
type MetricCallback = Parameters<PushMetricExporter['export']>[1];

class RecordingLogExporter implements LogRecordExporter {
  readonly calls: ReadableLogRecord[][] = [];
  readonly results: { code: number; error?: Error }[] = [];
  constructor(private readonly inner: LogRecordExporter) {}
  export(records: ReadableLogRecord[], cb: LogCallback): void {
    this.calls.push([...records]);
    this.inner.export(records, (r) => {
      this.results.push(r);
      cb(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

class RecordingSpanExporter implements SpanExporter {
  readonly calls: ReadableSpan[][] = [];
  readonly results: { code: number; error?: Error }[] = [];
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], cb: SpanCallback): void {
    this.calls.push([...spans]);
    this.inner.export(spans, (r) => {
      this.results.push(r);
      cb(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

class RecordingMetricExporter implements PushMetricExporter {
  readonly calls: ResourceMetrics[] = [];
  readonly results: { code: number; error?: Error }[] = [];
  constructor(private readonly inner: PushMetricExporter) {}
  export(metrics: ResourceMetrics, cb: MetricCallback): void {
    this.calls.push(metrics);
    this.inner.export(metrics, (r) => {
      this.results.push(r);
      cb(r);
    });
  }
  selectAggregationTemporality = (t: Parameters<NonNullable<PushMetricExporter['selectAggregationTemporality']>>[0]) =>
    this.inner.selectAggregationTemporality!(t);
  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

// ---------------------------------------------------------------------------
// What the test sends

const LOG_TRACE_ID = '5b8efff798038103d269b633813fc60c';
const LOG_SPAN_ID = 'eee19b7ec3c1b174';
const REMOTE_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const REMOTE_SPAN_ID = 'b7ad6b7169203331';
const LINK_TRACE_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const LINK_SPAN_ID = '00f067aa0ba902b7';

const BYTES = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
const LOG_ATTRS: LogAttributes = {
  'attr.string': 'say hello using bash',
  'attr.unicode': 'héllo – 世界 🚀',
  'attr.empty_string': '',
  'attr.int': 42,
  'attr.int_negative': -7,
  'attr.int_zero': 0,
  'attr.int_max_safe': Number.MAX_SAFE_INTEGER,
  'attr.double': 3.14159,
  'attr.double_negative': -0.000123,
  'attr.double_tiny': 6.02214076e-23,
  'attr.bool_true': true,
  'attr.bool_false': false,
  'attr.array_strings': ['a', 'b', 'c'],
  'attr.array_ints': [1, -2, 3],
  'attr.array_doubles': [0.5, 1.25],
  'attr.array_bools': [true, false],
  'attr.array_mixed': ['x', 1, 2.5, false, null],
  'attr.array_empty': [],
  'attr.map': { model: 'claude-opus', tokens: { input: 1203, output: 42 }, cached: true, cost_usd: 0.033315, tags: ['x', 'y'] },
  'attr.map_empty': {},
  'attr.bytes': BYTES,
};
const LOG_KINDS: Record<string, string> = {
  'attr.string': 'stringValue',
  'attr.unicode': 'stringValue',
  'attr.empty_string': 'stringValue',
  'attr.int': 'intValue',
  'attr.int_negative': 'intValue',
  'attr.int_zero': 'intValue',
  'attr.int_max_safe': 'intValue',
  'attr.double': 'doubleValue',
  'attr.double_negative': 'doubleValue',
  'attr.double_tiny': 'doubleValue',
  'attr.bool_true': 'boolValue',
  'attr.bool_false': 'boolValue',
  'attr.array_strings': 'arrayValue',
  'attr.array_ints': 'arrayValue',
  'attr.array_doubles': 'arrayValue',
  'attr.array_bools': 'arrayValue',
  'attr.array_mixed': 'arrayValue',
  'attr.array_empty': 'arrayValue',
  'attr.map': 'kvlistValue',
  'attr.map_empty': 'kvlistValue',
  'attr.bytes': 'bytesValue',
};

interface SentLog {
  time: HrTime;
  observed: HrTime;
  severityNumber: SeverityNumber;
  severityText: string;
  body: AnyValue;
  eventName?: string;
  attributes: LogAttributes;
  traced: boolean;
}

const SENT_LOGS: SentLog[] = [
  {
    time: [1_700_000_000, 123_456_789],
    observed: [1_700_000_001, 987_654_321],
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: 'claude_code.api_request',
    eventName: 'api_request',
    attributes: LOG_ATTRS,
    traced: true,
  },
  {
    time: [1_700_000_002, 1],
    observed: [1_700_000_002, 2],
    severityNumber: SeverityNumber.ERROR3,
    severityText: 'ERROR',
    body: { message: 'tool failed', exit_code: 127, details: ['not found', 1.5], raw: new Uint8Array([9, 8, 7]) },
    attributes: { 'event.name': 'tool_result', success: 'false' },
    traced: false,
  },
  {
    time: [1_700_000_003, 999_999_999],
    observed: [1_700_000_004, 0],
    severityNumber: SeverityNumber.DEBUG,
    severityText: 'DEBUG',
    body: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
    attributes: {},
    traced: false,
  },
];

const SPAN_ATTRS: Attributes = {
  'gen_ai.system': 'anthropic',
  'gen_ai.usage.input_tokens': 1203,
  'gen_ai.usage.cost': 0.033315,
  'agent.interactive': false,
  'agent.tools': ['bash', 'edit'],
  'agent.exit_codes': [0, 1, 127],
  'agent.ratios': [0.25, 0.5],
  'agent.flags': [true, false, true],
  'agent.negative': -12345,
};

/** Creates the same span tree on a tracer; returns the spans' contexts as the test made them. */
function makeSpans(provider: BasicTracerProvider, tag: string) {
  const tracer = provider.getTracer(`e2e.${tag}`, '1.2.3');
  const remoteParent: SpanContext = {
    traceId: REMOTE_TRACE_ID,
    spanId: REMOTE_SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('vendor=value,other=x'),
  };
  const linked: SpanContext = { traceId: LINK_TRACE_ID, spanId: LINK_SPAN_ID, traceFlags: TraceFlags.NONE, isRemote: true };
  const root = tracer.startSpan(
    'agent.session',
    {
      kind: SpanKind.SERVER,
      startTime: [1_700_000_100, 1],
      attributes: { ...SPAN_ATTRS, 'test.tag': tag },
      links: [{ context: linked, attributes: { 'link.kind': 'follows_from', 'link.n': 2 } }],
    },
    trace.setSpanContext(ROOT_CONTEXT, remoteParent),
  );
  root.addEvent('tool.start', { 'tool.name': 'bash', 'tool.args.count': 2, 'tool.ok': true }, [1_700_000_100, 500_000]);
  root.addEvent('tool.end', {}, [1_700_000_101, 0]);
  const child = tracer.startSpan(
    'llm.call',
    { kind: SpanKind.CLIENT, startTime: [1_700_000_100, 1_000], attributes: { 'gen_ai.request.model': 'claude-opus-4-8' } },
    trace.setSpan(ROOT_CONTEXT, root),
  );
  child.setStatus({ code: SpanStatusCode.OK });
  child.end([1_700_000_101, 999_999_999]);
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'tool failed: exit 127' });
  root.end([1_700_000_102, 0]);
  const lone = tracer.startSpan('background.flush', { kind: SpanKind.PRODUCER, startTime: [1_700_000_200, 0] });
  lone.end([1_700_000_200, 1]);
  return { root: root.spanContext(), child: child.spanContext(), lone: lone.spanContext() };
}

const HIST_BOUNDS = [0, 10, 100, 1000];
const HIST_VALUES = [5, 50, 500, 5000, 10];

/** Records the same measurements on a meter. */
function recordMetrics(meter: Meter): void {
  const tokens = meter.createCounter('agent.tokens', { description: 'tokens used', unit: '{token}', valueType: ValueType.INT });
  tokens.add(1203, { type: 'input', model: 'opus' });
  tokens.add(42, { type: 'output', model: 'opus' });
  tokens.add(100, { type: 'input', model: 'opus' });
  const cost = meter.createCounter('agent.cost', { description: 'cost', unit: 'USD' });
  cost.add(0.033315, { model: 'opus' });
  cost.add(0.006662, { model: 'opus' });
  const latency = meter.createHistogram('agent.latency', { unit: 'ms', advice: { explicitBucketBoundaries: HIST_BOUNDS } });
  for (const v of HIST_VALUES) latency.record(v, { route: 'tool' });
  const active = meter.createUpDownCounter('agent.active', { valueType: ValueType.INT });
  active.add(5, { queue: 'a' });
  active.add(-2, { queue: 'a' });
  active.add(-4, { queue: 'b' });
  const temp = meter.createGauge('agent.temperature', { unit: 'Cel' });
  temp.record(20, { room: 'x' });
  temp.record(-3.25, { room: 'x' });
  const mem = meter.createObservableGauge('agent.memory', { unit: 'By', valueType: ValueType.INT });
  mem.addCallback((r) => r.observe(123_456_789_012, { pid: 4242 }));
  const size = meter.createHistogram('agent.size', { unit: 'By' });
  for (const v of [0, 1, 2, 4, 8]) size.record(v);
}

// ---------------------------------------------------------------------------

describe('OpenTelemetry JS SDK -> relay A -> relay B (file)', () => {
  let relayA: RunningRelay | undefined;
  let relayB: RunningRelay | undefined;
  let outDir = '';
  let outFile = '';
  let outJsonFile = '';
  let aMetrics = '';
  let bMetrics = '';
  const logRec = { exporter: undefined as unknown as RecordingLogExporter };
  const spanRec = { grpc: undefined as unknown as RecordingSpanExporter, http: undefined as unknown as RecordingSpanExporter };
  const metricRec = { json: undefined as unknown as RecordingMetricExporter, proto: undefined as unknown as RecordingMetricExporter };
  let spanIds: Record<'grpc' | 'http', ReturnType<typeof makeSpans>>;

  before(async () => {
    const dir = (outDir = tempDir('agentrelay-sdk-e2e-'));
    outFile = path.join(dir, 'out.jsonl');
    outJsonFile = path.join(dir, 'out-json.jsonl');
    const [bGrpc, bHttp, bHttpJson, aGrpc, aHttp] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);

    relayB = await startRelay(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:${bGrpc}}
      http: {endpoint: 127.0.0.1:${bHttp}}
  otlp/json:
    protocols:
      http: {endpoint: 127.0.0.1:${bHttpJson}}
exporters:
  file: {path: ${JSON.stringify(outFile)}}
  file/json: {path: ${JSON.stringify(outJsonFile)}}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [file]}
    traces: {receivers: [otlp], exporters: [file]}
    metrics: {receivers: [otlp], exporters: [file]}
    metrics/json: {receivers: [otlp/json], exporters: [file/json]}
`);
    const retry = '{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 10s}';
    relayA = await startRelay(`
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:${aGrpc}}
      http: {endpoint: 127.0.0.1:${aHttp}}
exporters:
  otlp:
    endpoint: 127.0.0.1:${bGrpc}
    tls: {insecure: true}
    retry_on_failure: ${retry}
  otlphttp:
    endpoint: http://127.0.0.1:${bHttp}
    retry_on_failure: ${retry}
  otlphttp/json:
    endpoint: http://127.0.0.1:${bHttpJson}
    encoding: json
    compression: none
    retry_on_failure: ${retry}
service:
  pipelines:
    logs: {receivers: [otlp], exporters: [otlp]}
    traces: {receivers: [otlp], exporters: [otlp]}
    metrics: {receivers: [otlp], exporters: [otlphttp, otlphttp/json]}
`);

    // Logs: OTLP/gRPC.
    logRec.exporter = new RecordingLogExporter(new GrpcLogExporter({ url: `http://127.0.0.1:${aGrpc}` }));
    const loggerProvider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-e2e-logs', 'service.version': '9.9.9', 'host.cores': 2 }),
      processors: [new BatchLogRecordProcessor({ exporter: logRec.exporter, scheduledDelayMillis: 60_000 })],
    });
    const logger = loggerProvider.getLogger('e2e.logger', '0.1.0');
    const logCtx = trace.setSpanContext(ROOT_CONTEXT, { traceId: LOG_TRACE_ID, spanId: LOG_SPAN_ID, traceFlags: TraceFlags.SAMPLED });
    for (const l of SENT_LOGS) {
      logger.emit({
        timestamp: l.time,
        observedTimestamp: l.observed,
        severityNumber: l.severityNumber,
        severityText: l.severityText,
        body: l.body,
        eventName: l.eventName,
        attributes: l.attributes,
        context: l.traced ? logCtx : undefined,
      });
    }

    // Traces: OTLP/gRPC and OTLP/HTTP (JSON).
    spanRec.grpc = new RecordingSpanExporter(new GrpcTraceExporter({ url: `http://127.0.0.1:${aGrpc}` }));
    spanRec.http = new RecordingSpanExporter(new HttpTraceExporter({ url: `http://127.0.0.1:${aHttp}/v1/traces` }));
    const tracerGrpc = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-e2e-traces-grpc' }),
      spanProcessors: [new BatchSpanProcessor(spanRec.grpc, { scheduledDelayMillis: 60_000 })],
    });
    const tracerHttp = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-e2e-traces-http' }),
      spanProcessors: [new BatchSpanProcessor(spanRec.http, { scheduledDelayMillis: 60_000 })],
    });
    spanIds = { grpc: makeSpans(tracerGrpc, 'grpc'), http: makeSpans(tracerHttp, 'http') };

    // Metrics: OTLP/HTTP JSON (cumulative) and OTLP/HTTP protobuf (delta).
    metricRec.json = new RecordingMetricExporter(new JsonMetricExporter({ url: `http://127.0.0.1:${aHttp}/v1/metrics` }));
    metricRec.proto = new RecordingMetricExporter(
      new ProtoMetricExporter({ url: `http://127.0.0.1:${aHttp}/v1/metrics`, temporalityPreference: AggregationTemporality.DELTA }),
    );
    const views = [{ instrumentName: 'agent.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM as const } }];
    const meterJson = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-e2e-metrics', 'test.exporter': 'http-json' }),
      views,
      readers: [new PeriodicExportingMetricReader({ exporter: metricRec.json, exportIntervalMillis: 60_000 })],
    });
    const meterProto = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-e2e-metrics', 'test.exporter': 'http-proto' }),
      views,
      readers: [new PeriodicExportingMetricReader({ exporter: metricRec.proto, exportIntervalMillis: 60_000 })],
    });
    recordMetrics(meterJson.getMeter('e2e.meter', '2.0.0'));
    recordMetrics(meterProto.getMeter('e2e.meter', '2.0.0'));

    await Promise.all([loggerProvider.forceFlush(), tracerGrpc.forceFlush(), tracerHttp.forceFlush(), meterJson.forceFlush(), meterProto.forceFlush()]);
    await Promise.all([loggerProvider.shutdown(), tracerGrpc.shutdown(), tracerHttp.shutdown(), meterJson.shutdown(), meterProto.shutdown()]);

    // Resource entries, not requests: relay A may send requests that wait together as one.
    const count = (file: string, key: string) => readJsonLines(file).reduce((n, l) => n + ((l[key] as Json[] | undefined)?.length ?? 0), 0);
    const want = () => ({
      logs: resourceEntries(logRec.exporter.calls.map(expectedLogs)).length,
      traces: resourceEntries([...spanRec.grpc.calls, ...spanRec.http.calls].map(expectedSpans)).length,
      metrics: resourceEntries([...metricRec.json.calls, ...metricRec.proto.calls].map(expectedMetrics)).length,
    });
    await waitFor(
      () =>
        count(outFile, 'resourceLogs') >= want().logs &&
        count(outFile, 'resourceSpans') >= want().traces &&
        count(outFile, 'resourceMetrics') >= want().metrics &&
        count(outJsonFile, 'resourceMetrics') >= want().metrics,
      15_000,
      'relay B to write every request',
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nrelay A:\n${relayA?.output()}\nrelay B:\n${relayB?.output()}`);
    });
    aMetrics = await relayA.metrics();
    bMetrics = await relayB.metrics();
    // Stop A, then B: what is in the files now is final.
    assert.equal(await relayA.stop(), 0, `relay A exit code; output:\n${relayA.output()}`);
    assert.equal(await relayB.stop(), 0, `relay B exit code; output:\n${relayB.output()}`);
  });

  after(async () => {
    await relayA?.stop();
    await relayB?.stop();
    for (const d of [outDir, relayA?.dir, relayB?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  test('the SDK exporters all reported success', () => {
    for (const [name, r] of Object.entries({
      logs: logRec.exporter,
      'traces grpc': spanRec.grpc,
      'traces http': spanRec.http,
      'metrics json': metricRec.json,
      'metrics proto': metricRec.proto,
    })) {
      assert.ok(r.calls.length >= 1, `${name}: the SDK exported nothing`);
      assert.deepEqual(r.results.map((x) => [x.code, x.error?.message]), r.calls.map(() => [0, undefined]), `${name}: export results`);
    }
    assert.equal(logRec.exporter.calls.flat().length, SENT_LOGS.length);
    assert.equal(spanRec.grpc.calls.flat().length, 3);
    assert.equal(spanRec.http.calls.flat().length, 3);
  });

  test('logs (OTLP/gRPC in, otlp gRPC out) arrive unchanged', () => {
    const received = perResource(readJsonLines(outFile), 'resourceLogs');
    assertSameRequests('logs', logRec.exporter.calls.map(expectedLogs), received);

    // And against the literals given to the SDK, one by one.
    const records = received.flatMap((r) => (r.resourceLogs as Json[]).flatMap((rl) => (rl.scopeLogs as Json[]).flatMap((sl) => sl.logRecords as Json[])));
    assert.equal(records.length, SENT_LOGS.length);
    const rl = (received[0].resourceLogs as Json[])[0];
    const resAttrs = plainAttrs(rl.resource.attributes);
    assert.equal(resAttrs['service.name'], 'sdk-e2e-logs');
    assert.equal(resAttrs['service.version'], '9.9.9');
    assert.equal(resAttrs['host.cores'], 2);
    assert.deepEqual(rl.scopeLogs[0].scope.name, 'e2e.logger');
    assert.deepEqual(rl.scopeLogs[0].scope.version, '0.1.0');
    for (const [i, sent] of SENT_LOGS.entries()) {
      const got = records[i];
      assert.equal(got.timeUnixNano, nanos(sent.time), `record ${i} timeUnixNano`);
      assert.equal(got.observedTimeUnixNano, nanos(sent.observed), `record ${i} observedTimeUnixNano`);
      assert.equal(got.severityNumber, sent.severityNumber, `record ${i} severityNumber`);
      assert.equal(got.severityText, sent.severityText, `record ${i} severityText`);
      assert.deepEqual(plain(got.body ?? {}), sent.body, `record ${i} body`);
      assert.equal(got.eventName, sent.eventName, `record ${i} eventName`);
      assert.deepEqual(plainAttrs(got.attributes), sent.attributes, `record ${i} attributes`);
      if (sent.traced) {
        assert.equal(got.traceId, LOG_TRACE_ID, `record ${i} traceId`);
        assert.equal(got.spanId, LOG_SPAN_ID, `record ${i} spanId`);
        assert.equal(got.flags, TraceFlags.SAMPLED, `record ${i} flags`);
      } else {
        assert.ok(!got.traceId && !got.spanId && !got.flags, `record ${i} has no trace context`);
      }
    }
    // Every attribute kept its kind (a double did not become an int, bytes did not become a string, ...).
    assert.deepEqual(kinds(records[0].attributes), LOG_KINDS);
    assert.deepEqual(kinds(records[0].attributes.find((kv: Json) => kv.key === 'attr.array_mixed').value.arrayValue.values.map((v: Json, i: number) => ({ key: String(i), value: v }))), {
      0: 'stringValue',
      1: 'intValue',
      2: 'doubleValue',
      3: 'boolValue',
      4: 'empty',
    });
    assert.deepEqual(kinds(records[1].body.kvlistValue.values), { message: 'stringValue', exit_code: 'intValue', details: 'arrayValue', raw: 'bytesValue' });
    assert.deepEqual(Object.keys(records[2].body), ['bytesValue']);
  });

  test('traces (OTLP/gRPC and OTLP/HTTP JSON in, otlp gRPC out) arrive unchanged', () => {
    const received = perResource(readJsonLines(outFile), 'resourceSpans');
    assertSameRequests('traces', [...spanRec.grpc.calls, ...spanRec.http.calls].map(expectedSpans), received);

    for (const tag of ['grpc', 'http'] as const) {
      const line = received.find((l) => plainAttrs((l.resourceSpans as Json[])[0].resource.attributes)['service.name'] === `sdk-e2e-traces-${tag}`);
      assert.ok(line, `no traces line from the ${tag} exporter`);
      const ss = (line.resourceSpans as Json[])[0].scopeSpans[0];
      assert.equal(ss.scope.name, `e2e.${tag}`);
      assert.equal(ss.scope.version, '1.2.3');
      const spans = ss.spans as Json[];
      const byName = (n: string) => spans.find((s) => s.name === n)!;
      const ids = spanIds[tag];
      const root = byName('agent.session');
      const child = byName('llm.call');
      const lone = byName('background.flush');

      assert.equal(root.traceId, REMOTE_TRACE_ID);
      assert.equal(root.spanId, ids.root.spanId);
      assert.equal(root.parentSpanId, REMOTE_SPAN_ID);
      assert.equal(root.traceState, 'vendor=value,other=x');
      assert.equal(root.kind, 2); // SPAN_KIND_SERVER
      assert.equal(root.startTimeUnixNano, '1700000100000000001');
      assert.equal(root.endTimeUnixNano, '1700000102000000000');
      assert.equal(root.flags, 0x301); // sampled, parent is remote
      assert.deepEqual(plainAttrs(root.attributes), { ...SPAN_ATTRS, 'test.tag': tag });
      assert.deepEqual(kinds(root.attributes), {
        'gen_ai.system': 'stringValue',
        'gen_ai.usage.input_tokens': 'intValue',
        'gen_ai.usage.cost': 'doubleValue',
        'agent.interactive': 'boolValue',
        'agent.tools': 'arrayValue',
        'agent.exit_codes': 'arrayValue',
        'agent.ratios': 'arrayValue',
        'agent.flags': 'arrayValue',
        'agent.negative': 'intValue',
        'test.tag': 'stringValue',
      });
      assert.deepEqual(root.status, { code: 2, message: 'tool failed: exit 127' });
      assert.deepEqual(
        root.events.map((e: Json) => [e.name, e.timeUnixNano, plainAttrs(e.attributes)]),
        [
          ['tool.start', '1700000100000500000', { 'tool.name': 'bash', 'tool.args.count': 2, 'tool.ok': true }],
          ['tool.end', '1700000101000000000', {}],
        ],
      );
      assert.equal(root.links.length, 1);
      assert.equal(root.links[0].traceId, LINK_TRACE_ID);
      assert.equal(root.links[0].spanId, LINK_SPAN_ID);
      assert.equal(root.links[0].flags, 0x300); // not sampled, remote
      assert.deepEqual(plainAttrs(root.links[0].attributes), { 'link.kind': 'follows_from', 'link.n': 2 });

      assert.equal(child.traceId, REMOTE_TRACE_ID);
      assert.equal(child.spanId, ids.child.spanId);
      assert.equal(child.parentSpanId, ids.root.spanId);
      assert.equal(child.traceState, 'vendor=value,other=x');
      assert.equal(child.kind, 3); // SPAN_KIND_CLIENT
      assert.equal(child.startTimeUnixNano, '1700000100000001000');
      assert.equal(child.endTimeUnixNano, '1700000101999999999');
      assert.equal(child.status.code, 1);
      assert.equal(child.flags, 0x101);

      assert.equal(lone.traceId, ids.lone.traceId);
      assert.equal(lone.spanId, ids.lone.spanId);
      assert.notEqual(lone.traceId, REMOTE_TRACE_ID);
      assert.ok(!lone.parentSpanId, 'a root span has no parent span id');
      assert.equal(lone.kind, 4); // SPAN_KIND_PRODUCER
      assert.equal(lone.endTimeUnixNano, '1700000200000000001');
    }
  });

  for (const via of ['protobuf', 'json'] as const) {
    test(`metrics (OTLP/HTTP JSON and protobuf in, otlphttp ${via} out) arrive unchanged`, () => {
      const received = perResource(readJsonLines(via === 'json' ? outJsonFile : outFile), 'resourceMetrics');
      assertSameRequests(`metrics via otlphttp ${via}`, [...metricRec.json.calls, ...metricRec.proto.calls].map(expectedMetrics), received);

      for (const sdkExporter of ['http-json', 'http-proto'] as const) {
        // The request of the SDK's forceFlush (at shutdown the SDK exports once more: the same
        // cumulative values, or for delta only what is still cumulative or observed).
        const line = received.find(
          (l) =>
            plainAttrs((l.resourceMetrics as Json[])[0].resource.attributes)['test.exporter'] === sdkExporter &&
            (l.resourceMetrics as Json[])[0].scopeMetrics[0].metrics.some((m: Json) => m.name === 'agent.tokens'),
        );
        assert.ok(line, `no metrics line from the ${sdkExporter} exporter`);
        const sm = (line.resourceMetrics as Json[])[0].scopeMetrics[0];
        assert.equal(sm.scope.name, 'e2e.meter');
        assert.equal(sm.scope.version, '2.0.0');
        const metric = (n: string) => (sm.metrics as Json[]).find((m) => m.name === n)!;
        const temporality = sdkExporter === 'http-proto' ? 1 : 2; // DELTA : CUMULATIVE
        const points = (m: Json, kind: string) =>
          Object.fromEntries((m[kind].dataPoints as Json[]).map((p) => [JSON.stringify(plainAttrs(p.attributes)), p]));

        const tokens = metric('agent.tokens');
        assert.equal(tokens.description, 'tokens used');
        assert.equal(tokens.unit, '{token}');
        assert.equal(tokens.sum.aggregationTemporality, temporality);
        assert.equal(tokens.sum.isMonotonic, true);
        const tp = points(tokens, 'sum');
        assert.deepEqual(Object.keys(tp).sort(), ['{"type":"input","model":"opus"}', '{"type":"output","model":"opus"}']);
        assert.equal(tp['{"type":"input","model":"opus"}'].asInt, '1303');
        assert.equal(tp['{"type":"output","model":"opus"}'].asInt, '42');
        for (const p of Object.values(tp)) assert.ok(BigInt(p.startTimeUnixNano) <= BigInt(p.timeUnixNano) && BigInt(p.startTimeUnixNano) > 0n);

        const cost = metric('agent.cost');
        assert.equal(cost.sum.dataPoints.length, 1);
        assert.equal(cost.sum.dataPoints[0].asDouble, 0.033315 + 0.006662);

        const lat = metric('agent.latency');
        assert.equal(lat.unit, 'ms');
        assert.equal(lat.histogram.aggregationTemporality, temporality);
        const h = lat.histogram.dataPoints[0];
        assert.deepEqual(plainAttrs(h.attributes), { route: 'tool' });
        assert.equal(String(h.count), String(HIST_VALUES.length));
        assert.equal(h.sum, 5565);
        assert.equal(h.min, 5);
        assert.equal(h.max, 5000);
        assert.deepEqual(h.explicitBounds, HIST_BOUNDS);
        // (-inf,0] (0,10] (10,100] (100,1000] (1000,+inf)
        assert.deepEqual(h.bucketCounts.map(String), ['0', '2', '1', '1', '1']);

        const active = metric('agent.active');
        assert.equal(active.sum.isMonotonic ?? false, false);
        const ap = points(active, 'sum');
        assert.equal(ap['{"queue":"a"}'].asInt, '3');
        assert.equal(ap['{"queue":"b"}'].asInt, '-4');

        const temp = metric('agent.temperature');
        assert.equal(temp.gauge.dataPoints.length, 1);
        assert.equal(temp.gauge.dataPoints[0].asDouble, -3.25);
        assert.deepEqual(plainAttrs(temp.gauge.dataPoints[0].attributes), { room: 'x' });

        const mem = metric('agent.memory');
        assert.equal(mem.gauge.dataPoints[0].asInt, '123456789012');
        assert.deepEqual(plainAttrs(mem.gauge.dataPoints[0].attributes), { pid: 4242 });

        const size = metric('agent.size');
        const e = size.exponentialHistogram.dataPoints[0];
        assert.equal(size.exponentialHistogram.aggregationTemporality, temporality);
        assert.equal(String(e.count), '5');
        assert.equal(e.sum, 15);
        assert.equal(String(e.zeroCount), '1');
        assert.equal(e.min ?? 0, 0);
        assert.equal(e.max, 8);
        assert.equal((e.positive.bucketCounts as unknown[]).reduce((a: number, b) => a + Number(b), 0), 4);
      }
    });
  }

  test("the relays' own counters agree with what was sent", () => {
    const logItems = SENT_LOGS.length;
    const spanItems = 3;
    // Data points the SDK exported (the first export of each has 2 + 1 + 1 + 2 + 1 + 1 + 1; shutdown may export again).
    const points = [...metricRec.json.calls, ...metricRec.proto.calls]
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.dataPoints.length)))
      .reduce((x, y) => x + y, 0);
    assert.ok(points >= 2 * 9, `the SDK exported ${points} data points`);
    const a = (name: string, labels: Record<string, string>) => counterValue(aMetrics, `agentrelay_${name}_total`, labels);
    const b = (name: string, labels: Record<string, string>) => counterValue(bMetrics, `agentrelay_${name}_total`, labels);
    assert.equal(a('receiver_accepted_items', { signal: 'logs', transport: 'grpc' }), logItems);
    assert.equal(a('receiver_accepted_items', { signal: 'traces', transport: 'grpc' }), spanItems);
    assert.equal(a('receiver_accepted_items', { signal: 'traces', transport: 'http' }), spanItems);
    assert.equal(a('receiver_accepted_items', { signal: 'metrics', transport: 'http' }), points);
    assert.equal(a('exporter_sent_items', { component: 'otlp', signal: 'logs' }), logItems);
    assert.equal(a('exporter_sent_items', { component: 'otlp', signal: 'traces' }), 2 * spanItems);
    assert.equal(a('exporter_sent_items', { component: 'otlphttp', signal: 'metrics' }), points);
    assert.equal(a('exporter_sent_items', { component: 'otlphttp/json', signal: 'metrics' }), points);
    assert.equal(b('receiver_accepted_items', { component: 'otlp', signal: 'metrics', transport: 'http' }), points);
    assert.equal(b('receiver_accepted_items', { component: 'otlp/json', signal: 'metrics', transport: 'http' }), points);
    assert.equal(b('exporter_sent_items', { component: 'file' }), logItems + 2 * spanItems + points);
    assert.equal(b('exporter_sent_items', { component: 'file/json' }), points);
    for (const text of [aMetrics, bMetrics]) {
      for (const bad of ['receiver_refused_items', 'receiver_bad_requests', 'exporter_failed_items', 'exporter_dropped_items', 'exporter_partial_success_items'])
        assert.equal(counterValue(text, `agentrelay_${bad}_total`), 0, bad);
    }
  });
});
