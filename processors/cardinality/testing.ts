// Helpers for the tests of the three metric processors: run a processor as the
// pipeline does, build requests from OTLP/JSON through the protobuf codec (so the
// model holds Longs, as it does for real traffic), and read results back as JSON.
import * as fs from 'node:fs';
import { Batch } from '../../src/otlp/batch';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import type { Consumer, ProcessorFactory } from '../../src/pipeline/component';
import { listFixtures } from '../../test/helpers/fixtures';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function harness(factory: ProcessorFactory, config: unknown, id = factory.type) {
  const got: Batch[] = [];
  const next: Consumer = { consume: async (b) => void got.push(b) };
  const issues: { path: (string | number)[]; message: string }[] = [];
  const cfg = factory.schema.check(config, ['processors', id], { issues: issues as never[] });
  if (!cfg) throw new Error(`bad config: ${JSON.stringify(issues)}`);
  const telemetry = new Telemetry();
  const p = factory.create(cfg, { id, logger: createLogger({ level: 'silent' }), telemetry, signal: 'metrics', pipeline: 'metrics' }, next);
  const json = () => got.map((b) => b.toJsonObject() as Json);
  return { p, got, telemetry, json };
}

/** A metrics batch as the receiver makes it from protobuf bytes. */
export function metricsBatch(req: Json): Batch {
  return Batch.fromProto('metrics', Batch.fromJsonObject('metrics', req).toProto());
}

/** A recorded metrics request as OTLP/JSON (protobuf recordings are decoded by the relay's codec). */
export function fixtureJson(name: string): Json {
  const f = listFixtures().find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  const bytes = fs.readFileSync(f.file);
  if (f.format === 'json') return JSON.parse(bytes.toString('utf8')) as Json;
  return Batch.fromProto('metrics', bytes).toJsonObject() as Json;
}

export interface FlatPoint {
  resource: Json[];
  scope: Json;
  name: string;
  kind: string;
  temporality: number;
  point: Json;
}

const KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];

/** Every data point of OTLP/JSON metrics requests, with its context. */
export function flatten(reqs: Json[]): FlatPoint[] {
  const out: FlatPoint[] = [];
  for (const r of reqs)
    for (const rm of r.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? [])
          for (const kind of KINDS)
            if (m[kind])
              for (const point of m[kind].dataPoints ?? [])
                out.push({ resource: rm.resource?.attributes ?? [], scope: sm.scope ?? {}, name: m.name, kind, temporality: m[kind].aggregationTemporality ?? 0, point });
  return out;
}

/** int64 in OTLP/JSON may be a number or a decimal string: one spelling for keys. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'intValue' ? String(x) : canonical(x)]));
  return v;
}

/** An order-free key of OTLP/JSON attributes. */
export function keyOf(attrs: Json[] | undefined): string {
  return JSON.stringify((attrs ?? []).map((a) => [a.key, canonical(a.value)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** The identity a backend sees: resource, scope, metric and attributes. */
export function seriesOf(f: FlatPoint): string {
  return [keyOf(f.resource), JSON.stringify([f.scope.name ?? '', f.scope.version ?? '']), f.name, f.kind, keyOf(f.point.attributes)].join(' | ');
}

export function attr(attrs: Json[] | undefined, key: string): unknown {
  const v = (attrs ?? []).find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? v;
}

export function setAttr(attrs: Json[], key: string, value: Json): void {
  const a = attrs.find((x) => x.key === key);
  if (a) a.value = value;
  else attrs.push({ key, value });
}

/** The numeric value of an OTLP/JSON number point as a BigInt when it is an int, else a number. */
export function numberOf(p: Json): bigint | number {
  if (p.asInt !== undefined) return BigInt(p.asInt);
  return Number(p.asDouble ?? 0);
}

export const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Nanosecond timestamp as the decimal string OTLP/JSON uses. */
export const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();
