// Runs the real sampling processor in-process for the unit tests: config through its
// schema, batches through consume(), what it hands on collected as OTLP/JSON (what a
// backend would receive), its counters read from a real Telemetry.
import * as fs from 'node:fs';
import pino from 'pino';
import { Batch } from '../../src/otlp/batch';
import type { Ctx, Issue } from '../../src/config/schema';
import type { Signal } from '../../src/otlp/schema';
import { Telemetry } from '../../src/telemetry/metrics';
import type { Fixture } from '../../test/helpers/fixtures';
import { samplingProcessor } from './index';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export function checkConfig(value: unknown): { config?: ReturnType<typeof samplingProcessor.schema.check>; issues: Issue[] } {
  const ctx: Ctx = { issues: [] };
  const config = samplingProcessor.schema.check(value, ['processors', 'sampling'], ctx);
  return { config, issues: ctx.issues };
}

export interface Harness {
  consume(batch: Batch): Promise<void>;
  /** The batches handed on, in order. */
  out: Batch[];
  telemetry: Telemetry;
}

export function harness(value: unknown, signal: Signal, id = 'sampling'): Harness {
  const { config, issues } = checkConfig(value);
  if (!config) throw new Error(`bad test config: ${JSON.stringify(issues)}`);
  const out: Batch[] = [];
  const telemetry = new Telemetry();
  const proc = samplingProcessor.create(
    config,
    { id, logger: pino({ level: 'silent' }), telemetry, signal, pipeline: signal },
    { consume: async (b) => void out.push(b) },
  );
  return { consume: (b) => proc.consume(b), out, telemetry };
}

export function loadFixture(f: Fixture): Batch {
  const bytes = fs.readFileSync(f.file);
  return f.format === 'proto' ? Batch.fromProto(f.signal, bytes) : Batch.fromJsonObject(f.signal, JSON.parse(bytes.toString('utf8')));
}

export interface Item {
  resource: Json;
  record: Json;
  attrs: Record<string, unknown>;
}

/** Log records or spans of OTLP/JSON requests, with their attributes as plain values. */
export function itemsOf(requests: Json[]): Item[] {
  const out: Item[] = [];
  for (const req of requests) {
    for (const rl of req.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? []) for (const r of sl.logRecords ?? []) out.push({ resource: rl.resource ?? {}, record: r, attrs: attrsOf(r) });
    for (const rs of req.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? []) for (const r of ss.spans ?? []) out.push({ resource: rs.resource ?? {}, record: r, attrs: attrsOf(r) });
  }
  return out;
}

function attrsOf(r: Json): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of r.attributes ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? (Object.keys(v).length ? v : null);
  }
  return out;
}

export const jsonOf = (batches: Batch[]): Json[] => batches.map((b) => b.toJsonObject() as Json);
