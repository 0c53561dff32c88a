// Shared by the redaction tests: the processor built from a config the way the relay
// builds it (schema check, then create), fed real Batches, with what it hands on caught.
import * as assert from 'node:assert/strict';
import { redactionProcessor, type RedactionConfig } from './index';
import { Batch } from '../../src/otlp/batch';
import type { Signal } from '../../src/otlp/schema';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import type { Issue } from '../../src/config/schema';

export const KEY = 'k'.repeat(16) + '0123456789abcdef0123'; // 36 bytes

export function checkConfig(raw: unknown): { config?: RedactionConfig; issues: Issue[] } {
  const issues: Issue[] = [];
  const config = redactionProcessor.schema.check(raw, ['processors', 'redaction'], { issues });
  return { config, issues };
}

export interface Harness {
  telemetry: Telemetry;
  /** Runs one batch through the processor and returns what it handed on. */
  run(batch: Batch): Promise<Batch>;
}

export function harness(raw: unknown, signal: Signal): Harness {
  const { config, issues } = checkConfig(raw);
  assert.ok(config, `config rejected: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const telemetry = new Telemetry();
  let got: Batch | undefined;
  const p = redactionProcessor.create(
    config,
    { id: 'redaction', logger: createLogger({ level: 'silent' }), telemetry, signal, pipeline: signal },
    { consume: async (b) => void (got = b) },
  );
  return {
    telemetry,
    async run(batch) {
      got = undefined;
      await p.consume(batch);
      assert.ok(got, 'the processor handed nothing on');
      return got;
    },
  };
}

/** A batch as it arrives over the wire: protobuf bytes, decoded only when read. */
export function wire(signal: Signal, json: object): Batch {
  return Batch.fromProto(signal, Batch.fromJsonObject(signal, json).toProto());
}

/** Both encodings of a batch, as exporters send them. */
export function encodings(b: Batch): { proto: Buffer; json: string } {
  return { proto: Buffer.from(b.toProto()), json: b.toJson().toString('utf8') };
}

/** Fails when any of `needles` is found in the protobuf or the JSON encoding of `b`. */
export function assertAbsent(b: Batch, needles: string[], what = ''): void {
  const { proto, json } = encodings(b);
  for (const n of needles) {
    assert.ok(!json.includes(n), `${what}: ${JSON.stringify(n)} is in the JSON output`);
    assert.ok(!proto.includes(Buffer.from(n, 'utf8')), `${what}: ${JSON.stringify(n)} is in the protobuf output`);
  }
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const str = (v: string) => ({ stringValue: v });
export const kv = (key: string, value: object) => ({ key, value });

/** The attribute `key` of an OTLP/JSON record, as a plain value (string, number, bool). */
export function attrOf(rec: Json, key: string): unknown {
  const v = (rec.attributes ?? []).find((a: Json) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? v;
}

export function logRecordsOf(b: Batch): Json[] {
  const j = JSON.parse(b.toJson().toString()) as Json;
  return (j.resourceLogs ?? []).flatMap((rl: Json) => (rl.scopeLogs ?? []).flatMap((sl: Json) => sl.logRecords ?? []));
}
