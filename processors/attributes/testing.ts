// Test support for the filter, attributes and resource processors: recorded agent
// payloads as batches, a processor run outside a relay (with real telemetry), plain
// walks over OTLP/JSON to check results, and the YAML examples of a README.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../../src/otlp/batch';
import type { Signal } from '../../src/otlp/schema';
import type { Consumer, ProcessorFactory } from '../../src/pipeline/component';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import { formatPath, loadConfigText } from '../../src/config/load';
import { FIXTURES_DIR } from '../../test/helpers/fixtures';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A recorded request (path under the fixtures folder) as a fresh batch, as the receiver would build it. */
export function fixtureBatch(name: string): Batch {
  const file = path.join(FIXTURES_DIR, name);
  const signal = /(logs|metrics|traces)\.(json|pb)$/.exec(name)![1] as Signal;
  if (name.endsWith('.pb')) return Batch.fromProto(signal, fs.readFileSync(file));
  return Batch.fromJsonObject(signal, JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** A recorded OTLP/JSON request as plain parsed JSON, read without the relay's codec. */
export function fixtureJson(name: string): Json {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, name), 'utf8')) as Json;
}

export interface Harness {
  /** Runs one batch through; resolves to what was handed on (undefined when nothing was). */
  run(b: Batch): Promise<Batch | undefined>;
  telemetry: Telemetry;
  /** processor_dropped_items of this processor. */
  dropped(): number;
}

/** A processor created from `config` (checked by its schema, which must accept it) for one signal. */
export function harness(factory: ProcessorFactory, config: unknown, signal: Signal, id = factory.type): Harness {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const checked = factory.schema.check(config, ['processors', id], { issues: issues as never });
  if (issues.length) throw new Error(issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('\n'));
  const telemetry = new Telemetry();
  let got: Batch | undefined;
  const next: Consumer = { consume: async (b) => void (got = b) };
  const p = factory.create(checked, { id, logger: createLogger({ level: 'silent' }), telemetry, signal, pipeline: signal }, next);
  return {
    telemetry,
    async run(b) {
      got = undefined;
      await p.consume(b);
      return got;
    },
    dropped: () => telemetry.total('processor_dropped_items', { component: id }),
  };
}

export interface Rec {
  resource: Json;
  scope: Json;
  record: Json;
  /** For span events: the span. For data points: the metric. */
  parent?: Json;
}

/** Log records, spans or data points of an OTLP/JSON request, in document order. */
export function records(signal: Signal, req: Json): Rec[] {
  const out: Rec[] = [];
  if (signal === 'logs') {
    for (const rl of req.resourceLogs ?? [])
      for (const sl of rl.scopeLogs ?? []) for (const r of sl.logRecords ?? []) out.push({ resource: rl.resource ?? {}, scope: sl.scope ?? {}, record: r });
  } else if (signal === 'traces') {
    for (const rs of req.resourceSpans ?? [])
      for (const ss of rs.scopeSpans ?? []) for (const r of ss.spans ?? []) out.push({ resource: rs.resource ?? {}, scope: ss.scope ?? {}, record: r });
  } else {
    for (const rm of req.resourceMetrics ?? [])
      for (const sm of rm.scopeMetrics ?? [])
        for (const m of sm.metrics ?? [])
          for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'])
            for (const r of m[kind]?.dataPoints ?? []) out.push({ resource: rm.resource ?? {}, scope: sm.scope ?? {}, record: r, parent: m });
  }
  return out;
}

/** Span events of an OTLP/JSON traces request, each with its span. */
export function spanEvents(req: Json): Rec[] {
  const out: Rec[] = [];
  for (const s of records('traces', req)) for (const e of s.record.events ?? []) out.push({ ...s, record: e, parent: s.record });
  return out;
}

/** The JSON AnyValue of an attribute, undefined when absent. */
export function attr(o: Json, key: string): Json | undefined {
  return (o.attributes ?? []).find((a: Json) => a.key === key)?.value;
}

/** An attribute as a plain scalar (int64 strings stay strings). */
export function scalar(o: Json, key: string): unknown {
  const v = attr(o, key);
  if (v === undefined) return undefined;
  return v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue;
}

export function keys(o: Json): string[] {
  return (o.attributes ?? []).map((a: Json) => a.key);
}

/** The `event.name` attribute of a log record. */
export const eventName = (r: Json) => attr(r, 'event.name')?.stringValue as string | undefined;

/** The ```yaml blocks of a README. */
export function yamlBlocks(readme: string): string[] {
  return [...fs.readFileSync(readme, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/**
 * Loads a YAML block as a relay config. A block holding only `processors:` is completed
 * with a receiver, an exporter and one pipeline per signal that uses every processor it defines.
 */
export function loadExample(block: string, env: NodeJS.ProcessEnv = {}) {
  if (/^service:/m.test(block)) return loadConfigText(block, env);
  const ids = [...block.matchAll(/^  ([a-z][a-z0-9_]*(?:\/\S+)?):/gm)].map((m) => m[1]);
  const pipelines = ['logs', 'metrics', 'traces'].map((sig) => `    ${sig}: {receivers: [otlp], processors: [${ids.join(', ')}], exporters: [debug]}`);
  return loadConfigText(`${block}\nreceivers: {otlp: {}}\nexporters: {debug: {}}\nservice:\n  pipelines:\n${pipelines.join('\n')}\n`, env);
}

/** README.md of a processor folder, found from the compiled test in dist/. */
export function readmeOf(dirname: string): string {
  return path.resolve(dirname, '../../../processors', path.basename(dirname), 'README.md');
}
