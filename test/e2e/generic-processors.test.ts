// filter, attributes and resource together in a real relay process:
//
//   POST /v1/<signal> (every recorded fixture, OTLP/JSON or protobuf as recorded)
//     --> filter/agents --> attributes/agents --> resource/agents --> file (one OTLP/JSON request per line)
//
// Fixtures are sent one at a time, each line awaited before the next. What this file
// expects is computed here, by a plain walk over the fixture's JSON (the .pb ones decoded
// with protobufjs straight from the .proto files), without the relay's code; each line
// must equal its expectation record by record. The relay's own counters must match the
// drops, cuts and failed conversions counted here.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { counterValue, freePort, readJsonLines, startRelay, tempDir, waitFor, type RunningRelay } from '../helpers/relay-process';
import { firstDifference } from '../helpers/otlp-compare';
import { listFixtures } from '../helpers/fixtures';
import { decodePb } from '../helpers/plain-proto';
import type { Signal } from '../../src/otlp/schema';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const HMAC_KEY = 'e2e-generic-processors-hmac-key-0123456789';
const TRUNCATE_AT = 64;
// Raw tool arguments (they hold the planted secrets), and Codex's source locations on spans and span events.
const DELETED = ['tool_parameters', 'tool_input', 'arguments', 'function_args', 'code.file.path', 'code.module.name', 'code.line.number'];
const TRUNCATED = 'gen_ai.system_instructions';

const CONFIG = (port: number, out: string) => `
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:${port}}
processors:
  filter/agents:
    logs:
      exclude:
        - all:
            - event: codex.sse_event
            - attribute: event.kind
              equals: response.output_text.delta
    spans:
      exclude:
        - all:
            - attribute: resource.service.name
              equals: gemini-cli
            - field: name
              equals: schedule_tool_calls
    span_events:
      exclude:
        - field: name
          matches: '^event otel/'
    data_points:
      exclude:
        - field: name
          equals: gemini_cli.startup.duration
  attributes/agents:
    actions:
      - action: convert
        key: duration_ms
        converted_type: int
        where: {event: tool_result}
      - action: convert
        key: tool_result_size_bytes
        converted_type: bool
      - action: truncate
        key: ${TRUNCATED}
        length: ${TRUNCATE_AT}
      - action: hash
        key: user.id
        hmac_key: \${env:E2E_HMAC_KEY}
      - action: delete
        pattern: '^(${DELETED.map((k) => k.replace(/\./g, '\\.')).join('|')})$'
  resource/agents:
    actions:
      - action: delete
        key: process.command_args
      - action: upsert
        key: deployment.environment.name
        value: e2e
      - action: insert
        key: agent.vendor
        value: google
        where: {attribute: resource.service.name, equals: gemini-cli}
exporters:
  file: {path: ${JSON.stringify(out)}}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [filter/agents, attributes/agents, resource/agents], exporters: [file]}
    metrics: {receivers: [otlp], processors: [filter/agents, attributes/agents, resource/agents], exporters: [file]}
    traces: {receivers: [otlp], processors: [filter/agents, attributes/agents, resource/agents], exporters: [file]}
`;

// ---------------------------------------------------------------------------
// What the three processors should make of a request, written out plainly

const value = (o: Json, k: string): Json | undefined => (o.attributes ?? []).find((a: Json) => a.key === k)?.value;
const str = (o: Json, k: string): string | undefined => value(o, k)?.stringValue;

interface Tally {
  dropped: number;
  spanEventsDropped: number;
  truncated: number;
  notConverted: number;
}

/** The attribute actions of attributes/agents on one attribute list; `isToolResult` enables the where-limited convert. */
function expectAttributes(attrs: Json[] | undefined, isToolResult: boolean, t: Tally): Json[] {
  const out: Json[] = [];
  for (const a of attrs ?? []) {
    if (DELETED.includes(a.key)) continue;
    let v = a.value;
    if (a.key === 'duration_ms' && isToolResult && typeof v?.stringValue === 'string') v = { intValue: String(Number(v.stringValue)) };
    if (a.key === 'tool_result_size_bytes' && v?.stringValue !== undefined) {
      // "21" is not a boolean: kept as it is, and counted.
      if (['true', 'false', '1', '0'].includes(v.stringValue)) v = { boolValue: v.stringValue === 'true' || v.stringValue === '1' };
      else t.notConverted++;
    }
    if (a.key === TRUNCATED && typeof v?.stringValue === 'string' && [...v.stringValue].length > TRUNCATE_AT) {
      v = { stringValue: [...v.stringValue].slice(0, TRUNCATE_AT).join('') };
      t.truncated++;
    }
    if (a.key === 'user.id' && typeof v?.stringValue === 'string') v = { stringValue: createHmac('sha256', HMAC_KEY).update(v.stringValue).digest('hex') };
    out.push({ key: a.key, value: v });
  }
  return out;
}

function expectResource(resource: Json | undefined): Json {
  const attrs: Json[] = (resource?.attributes ?? []).filter((a: Json) => a.key !== 'process.command_args');
  const gemini = str({ attributes: attrs }, 'service.name') === 'gemini-cli';
  const env = { key: 'deployment.environment.name', value: { stringValue: 'e2e' } };
  const i = attrs.findIndex((a) => a.key === env.key);
  if (i >= 0) attrs[i] = env;
  else attrs.push(env);
  if (gemini && !attrs.some((a) => a.key === 'agent.vendor')) attrs.push({ key: 'agent.vendor', value: { stringValue: 'google' } });
  return { ...resource, attributes: attrs };
}

let spanEventAttributesDeleted = 0;

const TOOL_RESULT = new Set(['tool_result', 'claude_code.tool_result', 'codex.tool_result', 'gemini_cli.tool_result']);

function expectRequest(signal: Signal, req: Json, t: Tally): Json {
  if (signal === 'logs') {
    const resourceLogs = (req.resourceLogs ?? [])
      .map((rl: Json) => ({
        ...rl,
        resource: expectResource(rl.resource),
        scopeLogs: (rl.scopeLogs ?? [])
          .map((sl: Json) => ({
            ...sl,
            logRecords: (sl.logRecords ?? [])
              .filter((r: Json) => {
                const delta = str(r, 'event.name') === 'codex.sse_event' && str(r, 'event.kind') === 'response.output_text.delta';
                if (delta) t.dropped++;
                return !delta;
              })
              .map((r: Json) => ({ ...r, attributes: expectAttributes(r.attributes, TOOL_RESULT.has(str(r, 'event.name') ?? ''), t) })),
          }))
          .filter((sl: Json) => sl.logRecords.length > 0),
      }))
      .filter((rl: Json) => rl.scopeLogs.length > 0);
    return { resourceLogs };
  }
  if (signal === 'traces') {
    const resourceSpans = (req.resourceSpans ?? [])
      .map((rs: Json) => {
        const gemini = str(rs.resource ?? {}, 'service.name') === 'gemini-cli';
        return {
          ...rs,
          resource: expectResource(rs.resource),
          scopeSpans: (rs.scopeSpans ?? [])
            .map((ss: Json) => ({
              ...ss,
              spans: (ss.spans ?? [])
                .filter((s: Json) => {
                  const drop = gemini && s.name === 'schedule_tool_calls';
                  if (drop) t.dropped++;
                  return !drop;
                })
                .map((s: Json) => ({
                  ...s,
                  attributes: expectAttributes(s.attributes, false, t),
                  events: (s.events ?? [])
                    .filter((e: Json) => {
                      const drop = String(e.name ?? '').startsWith('event otel/');
                      if (drop) t.spanEventsDropped++;
                      return !drop;
                    })
                    .map((e: Json) => {
                      const attributes = expectAttributes(e.attributes, false, t);
                      spanEventAttributesDeleted += (e.attributes ?? []).length - attributes.length;
                      return { ...e, attributes };
                    }),
                })),
            }))
            .filter((ss: Json) => ss.spans.length > 0),
        };
      })
      .filter((rs: Json) => rs.scopeSpans.length > 0);
    return { resourceSpans };
  }
  const KINDS = ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'];
  const resourceMetrics = (req.resourceMetrics ?? [])
    .map((rm: Json) => ({
      ...rm,
      resource: expectResource(rm.resource),
      scopeMetrics: (rm.scopeMetrics ?? [])
        .map((sm: Json) => ({
          ...sm,
          metrics: (sm.metrics ?? [])
            .map((m: Json) => {
              const kind = KINDS.find((k) => m[k]);
              if (!kind) return m;
              const points: Json[] = m[kind].dataPoints ?? [];
              if (m.name === 'gemini_cli.startup.duration') {
                t.dropped += points.length;
                return undefined;
              }
              return { ...m, [kind]: { ...m[kind], dataPoints: points.map((p) => ({ ...p, attributes: expectAttributes(p.attributes, false, t) })) } };
            })
            .filter((m: Json | undefined) => m !== undefined),
        }))
        .filter((sm: Json) => sm.metrics.length > 0),
    }))
    .filter((rm: Json) => rm.scopeMetrics.length > 0);
  return { resourceMetrics };
}

function itemsOf(signal: Signal, req: Json): number {
  let n = 0;
  for (const r of req[{ logs: 'resourceLogs', traces: 'resourceSpans', metrics: 'resourceMetrics' }[signal]] ?? [])
    for (const s of r[{ logs: 'scopeLogs', traces: 'scopeSpans', metrics: 'scopeMetrics' }[signal]] ?? []) {
      if (signal === 'logs') n += (s.logRecords ?? []).length;
      else if (signal === 'traces') n += (s.spans ?? []).length;
      else for (const m of s.metrics ?? []) for (const k of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) n += (m[k]?.dataPoints ?? []).length;
    }
  return n;
}

// ---------------------------------------------------------------------------

const fixtures = listFixtures();

describe('filter + attributes + resource in one relay, every recorded fixture through it', () => {
  let relay: RunningRelay | undefined;
  let dir = '';
  let outFile = '';
  let port = 0;
  let lines = 0;
  const expected: Tally = { dropped: 0, spanEventsDropped: 0, truncated: 0, notConverted: 0 };
  const perSignalDropped: Record<Signal, number> = { logs: 0, metrics: 0, traces: 0 };

  before(async () => {
    dir = tempDir('agentrelay-generic-e2e-');
    outFile = path.join(dir, 'out.jsonl');
    port = await freePort();
    relay = await startRelay(CONFIG(port, outFile), { env: { E2E_HMAC_KEY: HMAC_KEY } });
  });

  after(async () => {
    const code = await relay?.stop();
    for (const d of [dir, relay?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
    assert.equal(code, 0, relay?.output().slice(-3000));
  });

  test('the fixture set covers all three agents, both encodings and all three signals', () => {
    for (const agent of ['claude-code/', 'codex/', 'gemini-cli/']) assert.ok(fixtures.some((f) => f.name.startsWith(agent)), agent);
    for (const format of ['json', 'proto'] as const)
      for (const signal of ['logs', 'metrics', 'traces'] as const)
        assert.ok(fixtures.some((f) => f.format === format && f.signal === signal), `no ${format} ${signal} fixture`);
  });

  for (const fx of fixtures) {
    test(`${fx.name}: the file holds exactly what the three processors should make of it`, async () => {
      const body = fs.readFileSync(fx.file);
      const original = fx.format === 'json' ? (JSON.parse(body.toString('utf8')) as Json) : decodePb(fx.signal, body);
      const t: Tally = { dropped: 0, spanEventsDropped: 0, truncated: 0, notConverted: 0 };
      const want = expectRequest(fx.signal, original, t);
      const wantItems = itemsOf(fx.signal, want);
      const contentType = fx.format === 'json' ? 'application/json' : 'application/x-protobuf';
      const res = await fetch(`http://127.0.0.1:${port}/v1/${fx.signal}`, { method: 'POST', headers: { 'content-type': contentType }, body });
      const answer = await res.text();
      assert.equal(res.status, 200, `${fx.name}: HTTP ${res.status} ${answer}\n${relay?.output().slice(-3000)}`);
      for (const k of Object.keys(expected) as (keyof Tally)[]) expected[k] += t[k];
      perSignalDropped[fx.signal] += t.dropped;
      if (wantItems === 0) return; // nothing left to write
      const got = (await waitFor(() => {
        const all = readJsonLines(outFile);
        return all.length > lines ? all : undefined;
      }, 10_000, `${fx.name} in the file`).catch((e: Error) => {
        throw new Error(`${e.message}\n${relay?.output().slice(-3000)}`);
      })) as Json[];
      assert.equal(got.length, lines + 1, 'one line per request');
      const line = got[lines++] as Json;
      assert.equal(itemsOf(fx.signal, line), wantItems, 'items left');
      const diff = firstDifference(line, want);
      assert.equal(diff, null, `${fx.name}: ${diff}`);
    });
  }

  test('the recordings exercised every rule', () => {
    assert.ok(perSignalDropped.logs >= 9, `Codex text deltas dropped: ${perSignalDropped.logs}`);
    assert.ok(perSignalDropped.traces >= 1, 'Gemini CLI schedule_tool_calls spans dropped');
    assert.ok(perSignalDropped.metrics >= 9, 'Gemini CLI startup points dropped');
    assert.ok(expected.spanEventsDropped > 0 && expected.truncated > 0 && expected.notConverted > 0);
    assert.ok(spanEventAttributesDeleted > 0, 'attributes deleted from span events');
  });

  test("the relay's counters agree: dropped items per signal, span events, truncations, failed conversions", async () => {
    const text = await relay!.metrics();
    for (const signal of ['logs', 'metrics', 'traces'] as const)
      assert.equal(
        counterValue(text, 'agentrelay_processor_dropped_items_total', { component: 'filter/agents', signal, reason: 'filtered' }),
        perSignalDropped[signal],
        signal,
      );
    assert.equal(counterValue(text, 'agentrelay_filter_span_events_dropped_total', { component: 'filter/agents' }), expected.spanEventsDropped);
    assert.equal(counterValue(text, 'agentrelay_attribute_values_truncated_total', { component: 'attributes/agents' }), expected.truncated);
    assert.equal(counterValue(text, 'agentrelay_attribute_values_not_converted_total', { component: 'attributes/agents' }), expected.notConverted);
    assert.equal(counterValue(text, 'agentrelay_processor_dropped_items_total', { component: 'attributes/agents' }), 0);
  });

  test('no secret or prompt planted in the deleted attributes and the command line reached the file', () => {
    const text = fs.readFileSync(outFile, 'utf8');
    for (const s of ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'])
      assert.ok(!text.includes(s), s);
    assert.ok(!text.includes('process.command_args'));
    assert.ok(!text.includes(HMAC_KEY), 'the HMAC key never appears in the output');
    assert.ok(!relay!.output().includes(HMAC_KEY), 'nor in the log');
  });
});
