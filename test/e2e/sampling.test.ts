// The sampling processor in real relay processes:
//  - two relays with the same config get the same 100,000 synthetic events (and their
//    spans) over OTLP/HTTP protobuf: their file exporters hold identical decisions and
//    marks, and the output meets the bar (every tool decision and error kept,
//    10 % ± 1.5 % of the rest, kept prompt cycles whole), counted in /metrics too;
//  - the recorded fixtures of all three agents through the default rules: at 0 % the
//    tool decisions arrive exactly as sent, at 100 % only Codex's per-chunk events go;
//  - `agentrelay validate` refuses the processor in a metrics pipeline.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../../src/otlp/batch';
import { CLI, counterValue, freePort, readJsonLines, startRelay, tempDir, type RunningRelay } from '../helpers/relay-process';
import { listFixtures } from '../helpers/fixtures';
import { firstDifference } from '../helpers/otlp-compare';
import { assess, synthesize, testItemsOf } from '../../processors/sampling/synthetic-events';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const relays: RunningRelay[] = [];
after(async () => {
  for (const r of relays) {
    const code = await r.stop();
    fs.rmSync(r.dir, { recursive: true, force: true });
    assert.equal(code, 0, r.output());
  }
});

async function relay(yaml: (port: number) => string): Promise<{ r: RunningRelay; port: number }> {
  const port = await freePort();
  const r = await startRelay(yaml(port));
  relays.push(r);
  return { r, port };
}

async function post(port: number, signal: 'logs' | 'traces', body: Uint8Array<ArrayBuffer>, type = 'application/x-protobuf'): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/${signal}`, { method: 'POST', headers: { 'content-type': type }, body });
  await res.arrayBuffer();
  assert.equal(res.status, 200, `POST /v1/${signal}`);
}

interface Mark {
  id: string;
  traceState: string;
  threshold: string;
  randomness: string;
  probability: string;
}

/** What each kept record looks like, by test.id: the decision and every mark sampling wrote. */
function marksOf(lines: Json[]): Mark[] {
  const out: Mark[] = [];
  const attr = (r: Json, k: string) => {
    const v = (r.attributes ?? []).find((a: Json) => a.key === k)?.value;
    return String(v?.stringValue ?? v?.doubleValue ?? '');
  };
  const add = (r: Json) =>
    out.push({
      id: attr(r, 'test.id'),
      traceState: String(r.traceState ?? ''),
      threshold: attr(r, 'sampling.threshold'),
      randomness: attr(r, 'sampling.randomness'),
      probability: attr(r, 'sampling.probability'),
    });
  for (const l of lines) {
    for (const rl of l.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const r of sl.logRecords ?? []) add(r);
    for (const rs of l.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const r of ss.spans ?? []) add(r);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

test('two relay processes given the same 100,000 events decide identically, and meet the bar', async () => {
  const syn = synthesize({ records: 100_000, seed: 42 });
  const sent = [...testItemsOf(syn.logs), ...testItemsOf(syn.traces)];
  const logBodies = syn.logs.map((m) => new Uint8Array(Batch.fromModel('logs', m).toProto()));
  const traceBodies = syn.traces.map((m) => new Uint8Array(Batch.fromModel('traces', m).toProto()));
  const config = (port: number) => `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
processors:
  sampling:
    sampling_percentage: 10
exporters:
  file:
    path: out.jsonl
service:
  pipelines:
    logs:   {receivers: [otlp], processors: [sampling], exporters: [file]}
    traces: {receivers: [otlp], processors: [sampling], exporters: [file]}
`;
  const [a, b] = await Promise.all([relay(config), relay(config)]);
  // Each relay gets every request, in the same order; the two are fed at the same time.
  await Promise.all(
    [a, b].map(async ({ port }) => {
      for (const body of logBodies) await post(port, 'logs', body);
      for (const body of traceBodies) await post(port, 'traces', body);
    }),
  );
  const metricsA = await a.r.metrics();
  const outA = readJsonLines(path.join(a.r.dir, 'out.jsonl'));
  const outB = readJsonLines(path.join(b.r.dir, 'out.jsonl'));

  const marksA = marksOf(outA);
  const marksB = marksOf(outB);
  assert.ok(marksA.length > 10_000, `${marksA.length} records kept`);
  assert.equal(marksA.length, marksB.length, 'same number kept');
  const firstDiff = marksA.findIndex((m, i) => JSON.stringify(m) !== JSON.stringify(marksB[i]));
  assert.equal(firstDiff, -1, `first difference: ${JSON.stringify(marksA[firstDiff])} vs ${JSON.stringify(marksB[firstDiff])}`);

  const r = assess(sent, testItemsOf(outA));
  assert.deepEqual(r.unexpected, []);
  assert.equal(r.logs.tool_decision.kept, r.logs.tool_decision.sent);
  assert.ok(r.logs.tool_decision.sent / syn.logCount > 0.009, '1 % tool decisions sent');
  assert.equal(r.logs.error.kept, r.logs.error.sent);
  assert.equal(r.spans.error.kept, r.spans.error.sent);
  const rest = r.logs.other.kept / r.logs.other.sent;
  assert.ok(rest >= 0.085 && rest <= 0.115, `rest kept: ${(rest * 100).toFixed(2)} %`);
  assert.equal(r.brokenCycles.length, 0, `cycles partly kept: ${r.brokenCycles.slice(0, 3).join(', ')}`);
  assert.ok(syn.sessions >= 1000 && r.keptCycles > 100);

  // The relay's own count agrees with what reached the file.
  const decisions = (labels: Record<string, string>) => counterValue(metricsA, 'agentrelay_sampling_decisions_total', { component: 'sampling', ...labels });
  assert.equal(decisions({ signal: 'logs' }), syn.logCount);
  assert.equal(decisions({ signal: 'traces' }), syn.spanCount);
  assert.equal(decisions({ signal: 'logs', decision: 'kept', reason: 'keep_rule', rule: 'tool_decision' }), r.logs.tool_decision.sent);
  assert.equal(decisions({ signal: 'logs', decision: 'kept', reason: 'sampled', rule: 'sampling_percentage' }), r.logs.other.kept);
  assert.equal(decisions({ signal: 'logs', decision: 'dropped', reason: 'sampled' }), r.logs.other.sent - r.logs.other.kept);
  assert.equal(counterValue(metricsA, 'agentrelay_processor_dropped_items_total', { component: 'sampling', signal: 'logs', reason: 'sampled' }), r.logs.other.sent - r.logs.other.kept);
});

test('recorded fixtures of all three agents: tool decisions intact at 0 %; at 100 % only the per-chunk events go', async () => {
  const { r, port } = await relay((p) => `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${p}
processors:
  sampling/none:
    sampling_percentage: 0
  sampling/all: {}
exporters:
  file/none:
    path: none.jsonl
  file/all:
    path: all.jsonl
service:
  pipelines:
    logs/none:   {receivers: [otlp], processors: [sampling/none], exporters: [file/none]}
    traces/none: {receivers: [otlp], processors: [sampling/none], exporters: [file/none]}
    logs/all:    {receivers: [otlp], processors: [sampling/all], exporters: [file/all]}
    traces/all:  {receivers: [otlp], processors: [sampling/all], exporters: [file/all]}
`);
  const sentLogs: Json[] = [];
  let sentSpans = 0;
  for (const f of listFixtures()) {
    if (f.signal === 'metrics') continue;
    const body = fs.readFileSync(f.file);
    await post(port, f.signal, body, f.format === 'proto' ? 'application/x-protobuf' : 'application/json');
    const json = f.format === 'proto' ? Batch.fromProto(f.signal, body).toJsonObject() : JSON.parse(body.toString('utf8'));
    for (const rl of (json as Json).resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) sentLogs.push(...(sl.logRecords ?? []));
    for (const rs of (json as Json).resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) sentSpans += (ss.spans ?? []).length;
  }
  const eventName = (rec: Json) => (rec.attributes ?? []).find((a: Json) => a.key === 'event.name')?.value?.stringValue as string | undefined;
  const eventKind = (rec: Json) => (rec.attributes ?? []).find((a: Json) => a.key === 'event.kind')?.value?.stringValue as string | undefined;
  const isDecision = (rec: Json) => ['tool_decision', 'codex.tool_decision', 'gemini_cli.tool_call'].includes(eventName(rec) ?? '');
  const logsIn = (lines: Json[]) => lines.flatMap((l) => (l.resourceLogs ?? []).flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords)));
  const spansIn = (lines: Json[]) => lines.flatMap((l) => (l.resourceSpans ?? []).flatMap((rs: Json) => rs.scopeSpans.flatMap((ss: Json) => ss.spans)));

  // 0 %: the tool decisions of every agent, each exactly as the agent sent it; nothing else (no errors in these runs).
  const none = readJsonLines(path.join(r.dir, 'none.jsonl'));
  const decisionsSent = sentLogs.filter(isDecision);
  for (const name of ['tool_decision', 'codex.tool_decision', 'gemini_cli.tool_call'])
    assert.ok(decisionsSent.some((x) => eventName(x) === name), `fixtures hold ${name}`);
  const keptNone = logsIn(none);
  assert.equal(keptNone.length, decisionsSent.length);
  keptNone.forEach((rec: Json, i: number) => assert.equal(firstDifference(rec, decisionsSent[i]), null, `decision ${i} (${eventName(rec)})`));
  assert.equal(spansIn(none).length, 0);

  // 100 % with the defaults: everything but Codex's *.delta sse events, unmarked.
  const all = readJsonLines(path.join(r.dir, 'all.jsonl'));
  const deltas = sentLogs.filter((x) => eventName(x) === 'codex.sse_event' && eventKind(x)?.endsWith('.delta'));
  assert.ok(deltas.length > 0);
  const keptAll = logsIn(all);
  assert.equal(keptAll.length, sentLogs.length - deltas.length);
  assert.equal(keptAll.filter((x: Json) => eventKind(x)?.endsWith('.delta')).length, 0);
  assert.ok(keptAll.some((x: Json) => eventKind(x) === 'response.completed'));
  assert.equal(spansIn(all).length, sentSpans);
  assert.ok(keptAll.every((x: Json) => !(x.attributes ?? []).some((a: Json) => String(a.key).startsWith('sampling.'))));
  const m = await r.metrics();
  assert.equal(counterValue(m, 'agentrelay_sampling_decisions_total', { component: 'sampling/all', reason: 'drop_rule', rule: 'codex_sse_delta' }), deltas.length);
  assert.equal(counterValue(m, 'agentrelay_sampling_decisions_total', { component: 'sampling/none', decision: 'kept', rule: 'tool_decision' }), decisionsSent.length);
});

test('agentrelay validate refuses sampling in a metrics pipeline, with the YAML path and line', () => {
  const dir = tempDir('agentrelay-sampling-validate-');
  try {
    const file = path.join(dir, 'relay.yaml');
    fs.writeFileSync(file, [
      'receivers:',
      '  otlp: {}',
      'processors:',
      '  sampling:',
      '    sampling_percentage: 10',
      'exporters:',
      '  debug: {}',
      'service:',
      '  pipelines:',
      '    logs: {receivers: [otlp], processors: [sampling], exporters: [debug]}',
      '    metrics:',
      '      receivers: [otlp]',
      '      processors: [sampling]',
      '      exporters: [debug]',
    ].join('\n') + '\n');
    const res = spawnSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8', timeout: 15_000, env: { PATH: process.env.PATH ?? '' } });
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /error: service\.pipelines\.metrics\.processors\[0\]: processor "sampling" does not handle metrics \(it handles logs, traces\).* \(line 13\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
