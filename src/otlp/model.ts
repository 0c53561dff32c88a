// TypeScript shapes of the in-memory OTLP model. They are the objects protobufjs
// decodes (lowerCamelCase field names, int64 as Long or number, bytes as
// Uint8Array); the JSON codec builds the same shapes, so processors see one model
// whatever the wire format was.
import type Long from 'long';

export type Int64 = Long | number | string;

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
  bytesValue?: Uint8Array;
}

export interface KeyValue {
  key: string;
  value?: AnyValue | null;
}

export interface Resource {
  attributes: KeyValue[];
  droppedAttributesCount?: number;
  entityRefs?: unknown[];
}

export interface Scope {
  name?: string;
  version?: string;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
}

export interface LogRecord {
  timeUnixNano?: Int64;
  observedTimeUnixNano?: Int64;
  severityNumber?: number;
  severityText?: string;
  body?: AnyValue | null;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  eventName?: string;
}

export interface ScopeLogs { scope?: Scope | null; logRecords: LogRecord[]; schemaUrl?: string }
export interface ResourceLogs { resource?: Resource | null; scopeLogs: ScopeLogs[]; schemaUrl?: string }
export interface LogsRequest { resourceLogs: ResourceLogs[] }

export interface SpanEvent { timeUnixNano?: Int64; name?: string; attributes: KeyValue[]; droppedAttributesCount?: number }
export interface SpanLink {
  traceId?: Uint8Array; spanId?: Uint8Array; traceState?: string; attributes: KeyValue[];
  droppedAttributesCount?: number; flags?: number;
}
export interface Span {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  traceState?: string;
  parentSpanId?: Uint8Array;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Int64;
  endTimeUnixNano?: Int64;
  attributes: KeyValue[];
  droppedAttributesCount?: number;
  events: SpanEvent[];
  droppedEventsCount?: number;
  links: SpanLink[];
  droppedLinksCount?: number;
  status?: { message?: string; code?: number } | null;
}
export interface ScopeSpans { scope?: Scope | null; spans: Span[]; schemaUrl?: string }
export interface ResourceSpans { resource?: Resource | null; scopeSpans: ScopeSpans[]; schemaUrl?: string }
export interface TracesRequest { resourceSpans: ResourceSpans[] }

export interface DataPoint {
  attributes: KeyValue[];
  startTimeUnixNano?: Int64;
  timeUnixNano?: Int64;
  asDouble?: number;
  asInt?: Int64;
  count?: Int64;
  sum?: number;
  flags?: number;
  [key: string]: unknown;
}
export interface Metric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: DataPoint[] } | null;
  sum?: { dataPoints: DataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean } | null;
  histogram?: { dataPoints: DataPoint[]; aggregationTemporality?: number } | null;
  exponentialHistogram?: { dataPoints: DataPoint[]; aggregationTemporality?: number } | null;
  summary?: { dataPoints: DataPoint[] } | null;
  metadata?: KeyValue[];
}
export interface ScopeMetrics { scope?: Scope | null; metrics: Metric[]; schemaUrl?: string }
export interface ResourceMetrics { resource?: Resource | null; scopeMetrics: ScopeMetrics[]; schemaUrl?: string }
export interface MetricsRequest { resourceMetrics: ResourceMetrics[] }

export type RequestModel = LogsRequest | MetricsRequest | TracesRequest;

export const METRIC_DATA_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;

/** The data points of a metric, whatever its type. */
export function dataPointsOf(m: Metric): DataPoint[] {
  for (const k of METRIC_DATA_KINDS) {
    const d = m[k];
    if (d) return d.dataPoints ?? [];
  }
  return [];
}
