// The sampling processor in-process: config validation with YAML paths, the
// untouched fast path, drop rules, thresholds composed with an upstream sampler,
// a trace split over batches, self-metrics, and the issue's acceptance run over
// 100,000 synthetic events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../../src/otlp/batch';
import type { LogRecord, LogsRequest, TracesRequest } from '../../src/otlp/model';
import { loadConfigText } from '../../src/config/load';
import { FIXTURES_DIR, listFixtures } from '../../test/helpers/fixtures';
import { countUnknownFields, withUnknownFieldInRecords } from '../../test/helpers/unknown-fields';
import { checkConfig, harness, itemsOf, jsonOf, loadFixture, type Json } from './harness';
import { assess, synthesize, testItemsOf } from './synthetic-events';
import { thresholdFor } from './threshold';
import { TRACE_MEMORY } from './sampler';
import { randomnessOfText } from './keys';
import type { Span } from '../../src/otlp/model';

const fixture = (name: string) => {
  const f = listFixtures().find((x) => x.name === name);
  assert.ok(f, `fixture ${name}`);
  return f;
};

// ---------------------------------------------------------------------------------
// Config

test('sampling: {} runs with the documented defaults', () => {
  const { config, issues } = checkConfig({});
  assert.deepEqual(issues, []);
  assert.ok(config);
  assert.equal(config.sampling_percentage, 100);
  assert.deepEqual(config.event_percentages, {});
  assert.equal(config.keep_defaults, true);
  assert.equal(config.drop_defaults, true);
  assert.deepEqual(config.keep, []);
  assert.deepEqual(config.sampling_key, {
    session: ['session.id', 'conversation.id', 'gen_ai.conversation.id'],
    prompt: ['prompt.id', 'prompt_id', 'gen_ai.prompt.name'],
  });
  assert.ok(checkConfig(null).config, 'an empty value is all defaults too');
});

test('bad config: every mistake reported at once with its YAML path', () => {
  const { config, issues } = checkConfig({
    sampling_percentage: 150,
    event_percentages: { 'codex.sse_event': -1, api_request: 'half' },
    keep: [
      { attribute: 'cost_usd', gt: 0.5 },
      { attribute: 'decision', equal: 'reject' },
      { name: 'slow', condition: { attribute: 'duration_ms', gt: 'ten' } },
      { name: '', condition: { event: 'tool_decision' } },
    ],
    drop: [{ name: 'x', condition: { event: 'codex.sse_event' }, colour: 'red' }, 'noise'],
    sampling_key: { session: [], prompt: ['prompt.id', ''] },
    percentage: 10,
  });
  assert.equal(config, undefined);
  const got = issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const expectPaths = [
    'processors.sampling.sampling_percentage',
    'processors.sampling.event_percentages.codex.sse_event',
    'processors.sampling.event_percentages.api_request',
    'processors.sampling.keep.1.equal',
    'processors.sampling.keep.1', // the leaf left without an operator
    'processors.sampling.keep.2.condition.gt',
    'processors.sampling.keep.3.name',
    'processors.sampling.drop.0.colour',
    'processors.sampling.drop.1',
    'processors.sampling.sampling_key.session',
    'processors.sampling.sampling_key.prompt.1',
    'processors.sampling.percentage',
  ];
  for (const p of expectPaths) assert.ok(got.some((g) => g.startsWith(p + ':')), `no issue at ${p}; got:\n${got.join('\n')}`);
  assert.equal(issues.length, expectPaths.length, got.join('\n'));
  assert.ok(issues.every((i) => i.severity === 'error'));
  assert.match(got.find((g) => g.startsWith('processors.sampling.keep.1.equal'))!, /did you mean "equals"/);
});

test('the relay refuses sampling in a metrics pipeline, naming the pipeline entry', () => {
  const r = loadConfigText(`
receivers:
  otlp: {}
processors:
  sampling: {sampling_percentage: 10}
exporters:
  debug: {}
service:
  pipelines:
    logs:    {receivers: [otlp], processors: [sampling], exporters: [debug]}
    traces:  {receivers: [otlp], processors: [sampling], exporters: [debug]}
    metrics: {receivers: [otlp], processors: [sampling], exporters: [debug]}
`);
  assert.equal(r.config, undefined);
  assert.equal(r.errors.length, 1, r.errors.join('\n'));
  assert.match(r.errors[0], /^service\.pipelines\.metrics\.processors\[0\]: processor "sampling" does not handle metrics/);
});

// ---------------------------------------------------------------------------------
// Behaviour on recorded data

test('nothing to drop or mark: the batch is handed on as it came, original protobuf bytes included', async () => {
  const f = fixture('claude-code/protobuf/01-logs.pb');
  const bytes = fs.readFileSync(f.file);
  const batch = Batch.fromProto('logs', bytes);
  const h = harness({ sampling_percentage: 100 }, 'logs');
  await h.consume(batch);
  assert.equal(h.out.length, 1);
  assert.equal(h.out[0], batch, 'the same batch, not a copy');
  assert.deepEqual(Buffer.from(h.out[0].toProto()), bytes);
  const n = batch.itemCount();
  assert.equal(h.telemetry.total('sampling_decisions', { decision: 'kept' }), n);
  assert.equal(h.telemetry.total('processor_dropped_items'), 0);
});

test('drop rule: Codex per-chunk sse events go, response.completed (with its token counts) stays', async () => {
  for (const name of ['codex/exec/04-logs.json', 'codex/tui/03-logs.json', 'codex/exec-protobuf/04-logs.pb']) {
    const input = itemsOf([loadFixture(fixture(name)).toJsonObject() as Json]);
    const h = harness({}, 'logs');
    await h.consume(loadFixture(fixture(name)));
    const out = itemsOf(jsonOf(h.out));
    const kind = (x: (typeof out)[number]) => String(x.attrs['event.kind'] ?? '');
    const deltas = input.filter((x) => kind(x).endsWith('.delta'));
    assert.ok(deltas.length > 0, `${name} has delta events`);
    assert.equal(out.filter((x) => kind(x).endsWith('.delta')).length, 0, name);
    assert.equal(out.length, input.length - deltas.length, `${name}: everything else is kept`);
    const completedWithTokens = out.filter((x) => kind(x) === 'response.completed' && x.attrs.input_token_count !== undefined);
    assert.ok(completedWithTokens.length > 0, `${name}: response.completed with token counts kept`);
    assert.equal(h.telemetry.total('sampling_decisions', { decision: 'dropped', reason: 'drop_rule', rule: 'codex_sse_delta' }), deltas.length);
    assert.equal(h.telemetry.total('processor_dropped_items', { reason: 'drop_rule' }), deltas.length);
    // Kept at 100 %: nothing marked.
    assert.ok(out.every((x) => x.attrs['sampling.threshold'] === undefined));
  }
});

test('drop_defaults: false keeps the deltas; a keep rule wins over a drop rule', async () => {
  const f = fixture('codex/exec/04-logs.json');
  const h = harness(
    {
      drop_defaults: false,
      keep: [{ name: 'text_deltas', condition: { attribute: 'event.kind', equals: 'response.output_text.delta' } }],
      drop: [{ name: 'all_sse', condition: { event: 'codex.sse_event' } }],
    },
    'logs',
  );
  await h.consume(loadFixture(f));
  const out = itemsOf(jsonOf(h.out));
  const kinds = out.map((x) => x.attrs['event.kind']).filter(Boolean);
  assert.deepEqual([...new Set(kinds)], ['response.output_text.delta']);
  assert.equal(h.telemetry.total('sampling_decisions', { reason: 'keep_rule', rule: 'text_deltas' }), 3);
  assert.ok(h.telemetry.total('sampling_decisions', { reason: 'drop_rule', rule: 'all_sse' }) > 10);
});

test('0 %: only what the keep rules match survives, unmarked', async () => {
  const h = harness({ sampling_percentage: 0 }, 'logs');
  const input = itemsOf([loadFixture(fixture('claude-code/tool-call/01-logs.json')).toJsonObject() as Json]);
  await h.consume(loadFixture(fixture('claude-code/tool-call/01-logs.json')));
  const out = itemsOf(jsonOf(h.out));
  assert.deepEqual(out.map((x) => x.attrs['event.name']), ['tool_decision']);
  assert.deepEqual(out[0].record, input.find((x) => x.attrs['event.name'] === 'tool_decision')!.record);
  assert.equal(h.telemetry.total('processor_dropped_items', { reason: 'sampled' }), input.length - 1);
});

test('spans: kept ones carry ot=th and rv; a trace id randomness needs no rv', async () => {
  const h = harness({ sampling_percentage: 50 }, 'traces');
  // Two traces: one keyed by a Gemini conversation, one with no key at all.
  const keyed = Buffer.from('00000000000000000000000000000001', 'hex');
  const bare = Buffer.from('000000000000000000ffffffffffffff', 'hex'); // randomness ffff...: kept at any p > 0
  const span = (traceId: Buffer, name: string, attrs: { key: string; value: { stringValue: string } }[], traceState?: string) => ({
    traceId, spanId: Buffer.from('0102030405060708', 'hex'), name, attributes: attrs, events: [], links: [], traceState,
  });
  const conv = 'c7af7881-f689-46f7-87df-45e810dcca1e';
  // Pick a conversation whose randomness is above the 50 % threshold, so the trace is kept.
  const model: TracesRequest = {
    resourceSpans: [{
      resource: { attributes: [] },
      scopeSpans: [{
        scope: { name: 'x', attributes: [] },
        spans: [
          span(keyed, 'llm_call', [{ key: 'gen_ai.conversation.id', value: { stringValue: conv } }]),
          span(keyed, 'child', [], 'vendor=abc'),
          span(bare, 'auth', []),
        ],
      }],
    }],
  };
  await h.consume(Batch.fromModel('traces', model));
  const out = itemsOf(jsonOf(h.out));
  const R = randomnessOfText(conv);
  const keptKeyed = R >= '80000000000000';
  assert.equal(out.filter((x) => x.record.name !== 'auth').length, keptKeyed ? 2 : 0, 'the keyed trace is kept or dropped whole');
  if (keptKeyed) {
    assert.equal(out.find((x) => x.record.name === 'llm_call')!.record.traceState, `ot=th:8;rv:${R}`);
    assert.equal(out.find((x) => x.record.name === 'child')!.record.traceState, `ot=th:8;rv:${R},vendor=abc`);
  }
  assert.equal(out.find((x) => x.record.name === 'auth')!.record.traceState, 'ot=th:8', 'trace-id randomness: no rv');
});

test('an upstream threshold composes: randomness kept, the stricter threshold applies', async () => {
  // 64 traces with trace-id randomness spread evenly, already sampled upstream at 50 % (th:8).
  const spans: Span[] = [];
  for (let i = 0; i < 64; i++) {
    const tid = Buffer.alloc(16);
    tid[9] = i * 4; // randomness = tid[9..15]: i/64 of the range
    tid[0] = 1;
    spans.push({ traceId: tid, spanId: Buffer.from('0102030405060708', 'hex'), name: `s${i}`, attributes: [], events: [], links: [], traceState: 'ot=th:8' });
  }
  const model = (): TracesRequest => ({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'x', attributes: [] }, spans: structuredClone(spans) }] }] });
  // Upstream 50 % invalid for R < 0x80: those are inconsistent; the rest carries th:8.
  // At 75 % here (th:4) the upstream 50 % is stricter: kept spans keep th:8 untouched.
  const h75 = harness({ sampling_percentage: 75, keep_defaults: false }, 'traces');
  await h75.consume(Batch.fromModel('traces', model()));
  const out75 = itemsOf(jsonOf(h75.out));
  assert.ok(out75.length >= 32, `at least the consistent half kept: ${out75.length}`);
  for (const x of out75) {
    const r = parseInt(String(x.record.traceId).slice(18, 20), 16);
    if (r >= 0x80) assert.equal(x.record.traceState, 'ot=th:8', 'consistent upstream threshold stays');
    else assert.equal(x.record.traceState, 'ot=th:4', 'inconsistent upstream threshold replaced');
  }
  // At 10 % here the local threshold is stricter: kept spans carry ours.
  const h10 = harness({ sampling_percentage: 10, keep_defaults: false }, 'traces');
  await h10.consume(Batch.fromModel('traces', model()));
  const out10 = itemsOf(jsonOf(h10.out));
  assert.ok(out10.length > 0 && out10.length < 10, `${out10.length}`);
  for (const x of out10) assert.equal(x.record.traceState, 'ot=th:e6666666666666');

  // Logs: the Collector's attributes.
  const logs: LogsRequest = {
    resourceLogs: [{
      resource: { attributes: [] },
      scopeLogs: [{
        scope: { name: 'x', attributes: [] },
        logRecords: [
          { attributes: [{ key: 'sampling.randomness', value: { stringValue: 'f0000000000000' } }, { key: 'sampling.threshold', value: { stringValue: 'c' } }] },
          { attributes: [{ key: 'sampling.randomness', value: { stringValue: '90000000000000' } }, { key: 'sampling.threshold', value: { stringValue: '8' } }] },
        ],
      }],
    }],
  };
  const hl = harness({ sampling_percentage: 50 }, 'logs');
  await hl.consume(Batch.fromModel('logs', logs));
  const outL = itemsOf(jsonOf(hl.out));
  assert.equal(outL.length, 2);
  assert.equal(outL[0].attrs['sampling.threshold'], 'c', 'upstream 25 % is stricter than 50 %: unchanged');
  assert.equal(outL[0].attrs['sampling.probability'], undefined, 'record untouched');
  assert.equal(outL[1].attrs['sampling.threshold'], '8');
});

test('a log record whose upstream threshold is replaced keeps its received bytes for everything else', async () => {
  // Sampled upstream at 50 % (threshold 8); the randomness f0... passes 25 % here too.
  const record = () => ({
    body: { stringValue: 'tool ran' },
    attributes: [
      { key: 'event.name', value: { stringValue: 'tool_result' } },
      { key: 'sampling.randomness', value: { stringValue: 'f0000000000000' } },
      { key: 'sampling.threshold', value: { stringValue: '8' } },
    ],
  });
  const logs: LogsRequest = { resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ scope: { name: 'x', attributes: [] }, logRecords: [record(), record(), record()] }] }] };
  // A field OTLP does not define rides on every record: it survives only where a record was not encoded anew.
  const input = withUnknownFieldInRecords(Batch.fromModel('logs', logs).toProto());
  const h = harness({ sampling_percentage: 25, keep_defaults: false }, 'logs');
  await h.consume(Batch.fromProto('logs', input));
  const sent = Buffer.from(h.out[0].toProto());
  assert.equal(countUnknownFields(sent), 3, 'every record kept its bytes');
  const out = itemsOf([Batch.fromProto('logs', sent).toJsonObject() as Json]);
  assert.equal(out.length, 3);
  for (const x of out) {
    assert.equal(x.attrs['sampling.threshold'], 'c', 'the stricter 25 % applies');
    assert.equal(x.attrs['sampling.randomness'], 'f0000000000000');
    assert.equal(x.attrs['sampling.probability'], 0.25);
    assert.equal(x.record.attributes.filter((a: Json) => a.key === 'sampling.threshold').length, 1, 'the old threshold is not sent along');
  }
});

test('a trace split over batches is decided once, even when only its later batch carries the key', async () => {
  // Codex TUI: trace d18a747... has 66 unkeyed spans in 02-traces and 98 keyed ones in 04-traces.
  const tid = 'd18a747e0e9f3208a64fcb37275a62b5';
  let both = 0;
  for (let pct = 3; pct < 100; pct += 4) {
    const h = harness({ sampling_percentage: pct }, 'traces');
    await h.consume(loadFixture(fixture('codex/tui/02-traces.json')));
    await h.consume(loadFixture(fixture('codex/tui/04-traces.json')));
    const byTrace = new Map<string, Set<string>>();
    for (const x of itemsOf(jsonOf(h.out))) {
      const ts = x.record.traceState as string;
      (byTrace.get(x.record.traceId) ?? byTrace.set(x.record.traceId, new Set()).get(x.record.traceId)!).add(ts);
    }
    const kept = itemsOf(jsonOf(h.out)).filter((x) => x.record.traceId === tid).length;
    assert.ok(kept === 0 || kept === 66 + 98, `${pct}%: trace ${tid} kept whole or not at all (${kept})`);
    if (kept) both++;
    for (const [t, states] of byTrace) assert.equal(states.size, 1, `${pct}%: one tracestate per trace ${t}`);
  }
  assert.ok(both > 0, 'the trace was kept at some percentage');
  assert.ok(TRACE_MEMORY >= 10000);
});

test('event_percentages: per-event rates share randomness, so higher rates are a superset', async () => {
  const syn = synthesize({ records: 6000, seed: 7 });
  const h = harness({ sampling_percentage: 10, event_percentages: { 'codex.sse_event': 2, api_request: 60 } }, 'logs');
  for (const req of syn.logs) await h.consume(Batch.fromModel('logs', structuredClone(req)));
  const out = itemsOf(jsonOf(h.out));
  const sent = itemsOf(syn.logs as unknown as Json[]);
  const keptIds = new Set(out.map((x) => x.attrs['test.id']));
  const cycles = new Map<string, { rate: number; kept: boolean }[]>();
  for (const x of sent) {
    if (x.attrs['test.kind'] !== 'other') continue;
    const ev = String(x.attrs['event.name']);
    const rate = ev === 'codex.sse_event' ? 2 : /(^|\.)api_request$/.test(ev) ? 60 : 10;
    const c = String(x.attrs['test.cycle']);
    (cycles.get(c) ?? cycles.set(c, []).get(c)!).push({ rate, kept: keptIds.has(x.attrs['test.id']) });
  }
  let checked = 0;
  for (const [c, recs] of cycles) {
    for (const a of recs)
      for (const b of recs) if (a.kept && b.rate > a.rate) assert.ok(b.kept, `cycle ${c}: a ${b.rate}% record dropped while a ${a.rate}% one was kept`);
    checked++;
  }
  assert.ok(checked > 100);
  for (const x of out) {
    if (x.attrs['test.kind'] !== 'other') continue;
    const ev = String(x.attrs['event.name']);
    const want = ev === 'codex.sse_event' ? thresholdFor(0.02) : /(^|\.)api_request$/.test(ev) ? thresholdFor(0.6) : thresholdFor(0.1);
    assert.equal((String(x.attrs['sampling.threshold'])).padEnd(14, '0'), want, ev);
  }
  assert.ok(h.telemetry.total('sampling_decisions', { rule: 'event_percentages.api_request', decision: 'kept' }) > 0);
  assert.ok(h.telemetry.total('sampling_decisions', { rule: 'event_percentages.codex.sse_event' }) > 0);
});

test('sampling_key: other attributes can define what is decided together', async () => {
  const records: LogRecord[] = [];
  for (let u = 0; u < 200; u++)
    for (let k = 0; k < 5; k++)
      records.push({ attributes: [{ key: 'user.id', value: { stringValue: `user-${u}` } }, { key: 'session.id', value: { stringValue: `s-${u}-${k}` } }, { key: 'n', value: { intValue: k } }] });
  const model = (): LogsRequest => ({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ scope: { name: 'x', attributes: [] }, logRecords: structuredClone(records) }] }] });
  const byUser = (cfg: object) => async () => {
    const h = harness({ sampling_percentage: 30, ...cfg }, 'logs');
    await h.consume(Batch.fromModel('logs', model()));
    const kept = new Map<string, number>();
    for (const x of itemsOf(jsonOf(h.out))) kept.set(String(x.attrs['user.id']), (kept.get(String(x.attrs['user.id'])) ?? 0) + 1);
    return [...kept.values()];
  };
  const whole = await byUser({ sampling_key: { session: ['user.id'], prompt: ['none'] } })();
  assert.ok(whole.length > 30 && whole.length < 100, `${whole.length} of 200 users kept`);
  assert.ok(whole.every((n) => n === 5), 'keyed by user: all five records of a kept user');
  const split = await byUser({})();
  assert.ok(split.some((n) => n < 5), 'keyed by session (the default): users are split');
});

// ---------------------------------------------------------------------------------
// The issue's acceptance run

test('100,000 synthetic events at 10 %: every tool decision and error kept, 10 % ± 1.5 % of the rest, kept cycles whole', async () => {
  const syn = synthesize({ records: 100_000, seed: 1 });
  assert.ok(syn.logCount >= 100_000);
  assert.ok(syn.sessions >= 1000 && syn.cycles >= 1000, `${syn.sessions} sessions, ${syn.cycles} cycles`);
  const sentLogs = testItemsOf(syn.logs);
  const sentSpans = testItemsOf(syn.traces);
  const toolShare = sentLogs.filter((x) => x.kind === 'tool_decision').length / sentLogs.length;
  assert.ok(toolShare > 0.009 && toolShare < 0.011, `1 % tool decisions (${toolShare})`);

  const hl = harness({ sampling_percentage: 10 }, 'logs');
  const ht = harness({ sampling_percentage: 10 }, 'traces');
  const t0 = Date.now();
  for (const req of syn.logs) await hl.consume(Batch.fromModel('logs', req));
  for (const req of syn.traces) await ht.consume(Batch.fromModel('traces', req));
  const ms = Date.now() - t0;
  const outLogs = jsonOf(hl.out);
  const outSpans = jsonOf(ht.out);
  const a = assess([...sentLogs, ...sentSpans], testItemsOf([...outLogs, ...outSpans]));

  assert.deepEqual(a.unexpected, []);
  assert.equal(a.logs.tool_decision.kept, a.logs.tool_decision.sent, 'every tool decision');
  assert.equal(a.logs.error.kept, a.logs.error.sent, 'every error log');
  assert.equal(a.spans.error.kept, a.spans.error.sent, 'every error span');
  const rest = a.logs.other.kept / a.logs.other.sent;
  assert.ok(rest >= 0.085 && rest <= 0.115, `rest kept: ${(rest * 100).toFixed(2)} %`);
  const spanRest = a.spans.other.kept / a.spans.other.sent;
  assert.ok(spanRest >= 0.085 && spanRest <= 0.115, `spans kept: ${(spanRest * 100).toFixed(2)} %`);
  assert.deepEqual(a.brokenCycles.slice(0, 5), [], `${a.brokenCycles.length} cycles partly kept (logs and spans together)`);
  assert.ok(a.keptCycles > 500, `${a.keptCycles} cycles kept`);

  // Adjusted counts: sampled records carry p; summing 1/p estimates what was sent.
  let estimate = 0;
  for (const x of itemsOf(outLogs)) {
    const p = x.attrs['sampling.probability'];
    if (x.attrs['test.kind'] === 'other') {
      assert.equal(x.attrs['sampling.threshold'], 'e6666666666666');
      assert.ok(Math.abs(Number(p) - 0.1) < 1e-12);
      estimate += 1 / Number(p);
    } else {
      assert.equal(p, undefined, 'rule-kept records are not marked');
      estimate += 1;
    }
  }
  const sentTotal = sentLogs.length;
  assert.ok(Math.abs(estimate - sentTotal) / sentTotal < 0.15, `estimate ${estimate} of ${sentTotal}`);
  for (const x of itemsOf(outSpans)) {
    if (x.attrs['test.kind'] === 'other') assert.match(String(x.record.traceState), /^ot=th:e6666666666666(;rv:[0-9a-f]{14})?$/);
    else assert.equal(x.record.traceState ?? '', '');
  }

  // Self-metrics add up to what went through.
  assert.equal(hl.telemetry.total('sampling_decisions'), sentLogs.length);
  assert.equal(hl.telemetry.total('sampling_decisions', { decision: 'kept' }), itemsOf(outLogs).length);
  assert.equal(hl.telemetry.total('sampling_decisions', { decision: 'kept', reason: 'keep_rule', rule: 'tool_decision' }), a.logs.tool_decision.sent);
  assert.equal(hl.telemetry.total('processor_dropped_items', { reason: 'sampled' }), sentLogs.length - itemsOf(outLogs).length);
  assert.ok(ms < 20000, `${ms} ms for ${sentLogs.length + sentSpans.length} records`);
});

test('fixtures folder is present', () => {
  assert.ok(fs.existsSync(path.join(FIXTURES_DIR, 'README.md')));
});
