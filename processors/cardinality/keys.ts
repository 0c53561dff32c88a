// Identity keys of metric streams: a stream is its resource, scope, metric (name,
// type, unit, temporality, monotonicity) and data-point attributes, compared as
// sets (order-free) and by value type (int 5 and string "5" are different series,
// as in the OpenTelemetry data model). Keys are plain strings for Map lookups.
import type { AnyValue, KeyValue, Metric, Resource, Scope } from '../../src/otlp/model';
import { anyValueKind, int64Value } from '../../src/conditions/values';

export const METRIC_KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

/** The data kind a metric holds, or undefined for a metric without data. */
export function kindOf(m: Metric): MetricKind | undefined {
  for (const k of METRIC_KINDS) if (m[k]) return k;
  return undefined;
}

export function valueKey(v: AnyValue | null | undefined): string {
  if (v === null || v === undefined) return '_';
  switch (anyValueKind(v)) {
    case 'stringValue': return 's' + JSON.stringify(v.stringValue);
    case 'intValue': return 'i' + String(int64Value(v.intValue));
    case 'doubleValue': return 'd' + String(v.doubleValue);
    case 'boolValue': return v.boolValue ? 'T' : 'F';
    case 'bytesValue': return 'x' + Buffer.from(v.bytesValue!).toString('base64');
    case 'arrayValue': return 'a[' + (v.arrayValue!.values ?? []).map(valueKey).join(',') + ']';
    case 'kvlistValue': return 'k{' + attrsKey(v.kvlistValue!.values ?? []) + '}';
    default: return '_';
  }
}

/** The key of one attribute: an attribute list's key is these, sorted. */
export function attrKey(kv: KeyValue): string {
  return JSON.stringify(kv.key) + '=' + valueKey(kv.value);
}

/** An order-free key for an attribute list ('' for none). */
export function attrsKey(kvs: readonly KeyValue[] | null | undefined): string {
  if (!kvs || kvs.length === 0) return '';
  if (kvs.length === 1) return attrKey(kvs[0]);
  const parts = new Array<string>(kvs.length);
  let sorted = true;
  for (let i = 0; i < kvs.length; i++) {
    parts[i] = attrKey(kvs[i]);
    if (i > 0 && kvs[i].key < kvs[i - 1].key) sorted = false;
  }
  if (!sorted) parts.sort();
  return parts.join(',');
}

export function resourceKey(r: Resource | null | undefined, schemaUrl: string | undefined): string {
  return (schemaUrl ?? '') + '|' + attrsKey(r?.attributes);
}

export function scopeKey(s: Scope | null | undefined, schemaUrl: string | undefined): string {
  return JSON.stringify([s?.name ?? '', s?.version ?? '', schemaUrl ?? '']) + attrsKey(s?.attributes);
}

/** Name, type, unit, temporality and monotonicity: what makes two metrics the same stream family. */
export function metricKey(m: Metric, kind: MetricKind): string {
  const d = m[kind] as { aggregationTemporality?: number; isMonotonic?: boolean };
  return JSON.stringify([m.name ?? '', kind, m.unit ?? '', d.aggregationTemporality ?? 0, d.isMonotonic ?? false]);
}

/** Aggregation temporality of a metric (0 for gauges and summaries, which have none). */
export function temporalityOf(m: Metric, kind: MetricKind): number {
  if (kind === 'gauge' || kind === 'summary') return 0;
  return (m[kind] as { aggregationTemporality?: number }).aggregationTemporality ?? 0;
}
