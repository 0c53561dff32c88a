// Known answers for the cost processor on the recorded agent events, each worked
// out by hand from config/prices.yaml (USD per million tokens; 1 token at 1 USD/M
// is 1 micro-dollar, so "µ$" below is tokens x rate).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { costProcessor, type CostConfig } from './index';
import { Batch } from '../../src/otlp/batch';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import { FIXTURES_DIR } from '../../test/helpers/fixtures';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function setup(config: object = {}) {
  const ctx0 = { issues: [] as unknown[] };
  const cfg = costProcessor.schema.check(config, ['processors', 'cost'], ctx0 as never) as CostConfig;
  assert.deepEqual(ctx0.issues, []);
  const telemetry = new Telemetry();
  const warnings: Json[] = [];
  const logger = createLogger({ level: 'silent' });
  logger.warn = ((o: Json) => void warnings.push(o)) as never;
  logger.info = (() => undefined) as never;
  const got: Batch[] = [];
  const p = costProcessor.create(cfg, { id: 'cost', logger, telemetry, signal: 'logs', pipeline: 'logs' }, { consume: async (b) => void got.push(b) });
  return { p, got, telemetry, warnings };
}

const fixtureJson = (name: string): Json => JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, name), 'utf8'));

function records(doc: Json): Json[] {
  const out: Json[] = [];
  for (const rl of doc.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const lr of sl.logRecords ?? []) out.push(lr);
  return out;
}

const attrs = (lr: Json): Json => Object.fromEntries((lr.attributes ?? []).map((kv: Json) => [kv.key, kv.value]));
const eventName = (lr: Json) => attrs(lr)['event.name']?.stringValue as string | undefined;

/** Sets (or adds) attributes of the record, as the agent would have sent them. */
function setAttrs(lr: Json, values: Record<string, Json>): void {
  for (const [key, value] of Object.entries(values)) {
    const kv = lr.attributes.find((a: Json) => a.key === key);
    if (kv) kv.value = value;
    else lr.attributes.push({ key, value });
  }
}

/** Runs one request through the processor and returns its records as OTLP/JSON. */
async function run(doc: Json, config: object = {}) {
  const s = setup(config);
  await s.p.consume(Batch.fromJsonObject('logs', doc));
  assert.equal(s.got.length, 1);
  return { ...s, out: records(s.got[0].toJsonObject()) };
}

/** [event name, model, cost_usd] of every record that has token counts. */
function costs(out: Json[], key = 'cost_usd'): [string, string, number | undefined][] {
  return out
    .filter((lr) => ['codex.sse_event', 'gemini_cli.api_response', 'api_request'].includes(eventName(lr)!))
    .filter((lr) => attrs(lr).input_token_count || attrs(lr).input_tokens)
    .map((lr) => [eventName(lr)!, attrs(lr).model?.stringValue, attrs(lr)[key]?.doubleValue]);
}

test('Codex: cached tokens inside input, reasoning inside output; response.completed billed once', async () => {
  // gpt-5-codex: 1.25 input, 0.125 cached, 10 output (reasoning bills as output).
  // 2002 in (1500 cached), 62 out (20 reasoning): 502*1.25 + 1500*0.125 + 62*10 = 627.5 + 187.5 + 620 = 1435 µ$
  // 2003 in (1500 cached), 63 out:                503*1.25 + 187.5 + 630         = 1446.25 µ$
  // tool_token_count (2064, 2066) is the request total and adds nothing.
  const { out } = await run(fixtureJson('codex/exec/04-logs.json'));
  assert.deepEqual(costs(out), [
    ['codex.sse_event', 'gpt-5-codex', 0.001435],
    ['codex.sse_event', 'gpt-5-codex', 0.00144625],
  ]);
  const completed = out.filter((lr) => attrs(lr)['event.kind']?.stringValue === 'response.completed');
  assert.equal(completed.length, 4, 'two responses, each logged twice');
  assert.equal(completed.filter((lr) => attrs(lr).cost_usd).length, 2, 'only the record with counts is priced');
  assert.equal(out.filter((lr) => attrs(lr).cost_usd).length, 2, 'no other record gets a cost');
});

test('Codex TUI and protobuf captures', async () => {
  // 505*1.25 + 187.5 + 65*10 = 1468.75; 506*1.25 + 187.5 + 660 = 1480; 507*1.25 + 187.5 + 670 = 1491.25 (µ$)
  const { out } = await run(fixtureJson('codex/tui/03-logs.json'));
  assert.deepEqual(costs(out).map((c) => c[2]), [0.00146875, 0.00148, 0.00149125]);
  const s = setup();
  await s.p.consume(Batch.fromProto('logs', fs.readFileSync(path.join(FIXTURES_DIR, 'codex/exec-protobuf/04-logs.pb'))));
  assert.deepEqual(costs(records(s.got[0].toJsonObject())).map((c) => c[2]), [0.001435, 0.00144625]);
});

test('Codex: cache writes and reasoning at their own rates when the row has them', async () => {
  // gpt-5.6: 5 input, 0.5 cached, 6.25 cache write, 30 output.
  // 10000 in = 6000 uncached + 3000 cached + 1000 written; 500 out (200 reasoning):
  // 6000*5 + 3000*0.5 + 1000*6.25 + 500*30 = 30000 + 1500 + 6250 + 15000 = 52750 µ$
  const doc = fixtureJson('codex/exec/04-logs.json');
  const priced = records(doc).filter((lr) => attrs(lr).input_token_count);
  setAttrs(priced[0], {
    model: { stringValue: 'gpt-5.6' },
    input_token_count: { stringValue: '10000' },
    cached_token_count: { intValue: '3000' },
    cache_write_token_count: { intValue: '1000' },
    output_token_count: { stringValue: '500' },
    reasoning_token_count: { intValue: '200' },
  });
  // A row with its own reasoning rate: 200 reasoning at 40, 300 other output at 30.
  // 6000*5 + 1500 + 6250 + 300*30 + 200*40 = 30000 + 1500 + 6250 + 9000 + 8000 = 54750 µ$
  setAttrs(priced[1], { ...Object.fromEntries(priced[0].attributes.map((a: Json) => [a.key, a.value])), model: { stringValue: 'my-reasoner' } });
  const { out } = await run(doc, {
    prices: { 'my-reasoner': { provider: 'openai', input: 5, cache_read: 0.5, cache_write: 6.25, output: 30, reasoning: 40, source: 'test', date: '2026-11-23' } },
  });
  assert.deepEqual(costs(out).map((c) => c[2]), [0.05275, 0.05475]);
});

test('Gemini: cached inside the prompt count, thoughts at the output rate, tool-use prompt tokens as input', async () => {
  // gemini-2.5-flash: 0.30 input, 0.03 cached, 2.50 output and thinking.
  // 3001 prompt (1200 cached) + 7 tool-use, 40 out + 15 thoughts:
  //   (1801 + 7)*0.30 + 1200*0.03 + 55*2.50 = 542.4 + 36 + 137.5 = 715.9 µ$
  // 3002 prompt (1200 cached) + 7, 9 out + 15 thoughts: 1809*0.30 + 36 + 24*2.50 = 542.7 + 36 + 60 = 638.7 µ$
  const { out } = await run(fixtureJson('gemini-cli/priced-model/02-logs.json'));
  assert.deepEqual(costs(out), [
    ['gemini_cli.api_response', 'gemini-2.5-flash', 0.0007159],
    ['gemini_cli.api_response', 'gemini-2.5-flash', 0.0006387],
  ]);
  // gen_ai.client.inference.operation.details repeats the usage and is not billed again.
  const details = out.filter((lr) => eventName(lr) === 'gen_ai.client.inference.operation.details');
  assert.equal(details.length, 4);
  assert.ok(details.every((lr) => attrs(lr).cost_usd === undefined && attrs(lr)['agentrelay.cost_unpriced'] === undefined));
});

test('Gemini 2.5 Pro: a prompt past 200k tokens bills the whole request at the higher rates', async () => {
  const doc = fixtureJson('gemini-cli/priced-model/02-logs.json');
  const [a, b] = records(doc).filter((lr) => eventName(lr) === 'gemini_cli.api_response');
  // 250000 prompt (1200 cached) + 7 tool-use = 250007 > 200000: 2.50 input, 0.25 cached, 15 output.
  //   (248800 + 7)*2.5 + 1200*0.25 + (40 + 15)*15 = 622017.5 + 300 + 825 = 623142.5 µ$
  setAttrs(a, { model: { stringValue: 'gemini-2.5-pro' }, input_token_count: { intValue: 250000 } });
  // 199993 + 7 = 200000, not past the threshold: 1.25 / 0.125 / 10.
  //   (198793 + 7)*1.25 + 1200*0.125 + (9 + 15)*10 = 248500 + 150 + 240 = 248890 µ$
  setAttrs(b, { model: { stringValue: 'gemini-2.5-pro' }, input_token_count: { intValue: 199993 } });
  const { out } = await run(doc);
  assert.deepEqual(costs(out).map((c) => c[2]), [0.6231425, 0.24889]);
});

test('OpenAI long-context tier (gpt-5.4 past 272k prompt tokens) and a model with a date suffix', async () => {
  const doc = fixtureJson('codex/exec/04-logs.json');
  const [a, b] = records(doc).filter((lr) => attrs(lr).input_token_count);
  // gpt-5.4 past 272000: 5 input, 0.5 cached, 22.5 output.
  //   300000 in (100000 cached), 1000 out: 200000*5 + 100000*0.5 + 1000*22.5 = 1000000 + 50000 + 22500 = 1072500 µ$
  setAttrs(a, { model: { stringValue: 'gpt-5.4' }, input_token_count: { stringValue: '300000' }, cached_token_count: { intValue: '100000' }, output_token_count: { stringValue: '1000' } });
  // gpt-5-codex-2025-09-15 is priced as gpt-5-codex: 1446.25 µ$ as above.
  setAttrs(b, { model: { stringValue: 'gpt-5-codex-2025-09-15' } });
  const { out } = await run(doc);
  assert.deepEqual(costs(out), [
    ['codex.sse_event', 'gpt-5.4', 1.0725],
    ['codex.sse_event', 'gpt-5-codex-2025-09-15', 0.00144625],
  ]);
});

test('Claude Code: its own cost_usd stays; recompute adds the relay figure, equal to the micro-dollar on every recorded run', async () => {
  const plain = await run(fixtureJson('claude-code/tool-call/01-logs.json'));
  assert.equal(plain.out.filter((lr) => attrs(lr)['agentrelay.cost_usd']).length, 0, 'without recompute nothing is added');

  let checked = 0;
  for (const name of ['claude-code/tool-call/01-logs.json', 'claude-code/tool-call-2/01-logs.json']) {
    const { out } = await run(fixtureJson(name), { recompute: true });
    for (const lr of out.filter((r) => eventName(r) === 'api_request')) {
      const a = attrs(lr);
      const theirs = a.cost_usd.doubleValue as number;
      const ours = a['agentrelay.cost_usd'].doubleValue as number;
      assert.equal(Math.round(ours * 1e6), Math.round(theirs * 1e6), `${name} ${a.model.stringValue}`);
      assert.equal(Math.round(ours * 1e6), Number(a.cost_usd_micros.intValue));
      checked++;
    }
  }
  assert.equal(checked, 6);
  // claude-opus-4-8, 1203 in, 42 out, 15000 cache read, 3000 cache write at 5 / 25 / 0.5 / 6.25:
  //   6015 + 1050 + 7500 + 18750 = 33315 µ$
  const { out } = await run(fixtureJson('claude-code/tool-call/01-logs.json'), { recompute: true });
  const opus = out.find((lr) => attrs(lr).model?.stringValue === 'claude-opus-4-8')!;
  assert.equal(attrs(opus)['agentrelay.cost_usd'].doubleValue, 0.033315);
  assert.equal(attrs(opus).cost_usd.doubleValue, 0.033315, "Claude Code's own figure is kept");
});

test('Claude Code protobuf capture, recompute: same figures', async () => {
  const s = setup({ recompute: true });
  await s.p.consume(Batch.fromProto('logs', fs.readFileSync(path.join(FIXTURES_DIR, 'claude-code/protobuf/01-logs.pb'))));
  const reqs = records(s.got[0].toJsonObject()).filter((lr) => eventName(lr) === 'api_request');
  assert.ok(reqs.length >= 2);
  for (const lr of reqs) assert.equal(Math.round(attrs(lr)['agentrelay.cost_usd'].doubleValue * 1e6), Number(attrs(lr).cost_usd_micros.intValue));
});

test('Anthropic long-context rates only on the [1m] variant; events are priced at standard rates', async () => {
  const doc = fixtureJson('claude-code/tool-call/01-logs.json');
  const [a, b] = records(doc).filter((lr) => eventName(lr) === 'api_request' && attrs(lr).prompt?.stringValue === undefined).slice(1);
  const big = { input_tokens: { intValue: 250000 }, cache_read_tokens: { intValue: 40000 }, cache_creation_tokens: { intValue: 10000 }, output_tokens: { intValue: 2000 } };
  // claude-sonnet-4-5, 300000-token prompt, as on an event (no [1m]): 3 / 0.3 / 3.75 / 15.
  //   250000*3 + 40000*0.3 + 10000*3.75 + 2000*15 = 750000 + 12000 + 37500 + 30000 = 829500 µ$
  setAttrs(a, { ...big, model: { stringValue: 'claude-sonnet-4-5' } });
  // The same request named as the 1M variant: 6 / 0.6 / 7.5 / 22.5.
  //   1500000 + 24000 + 75000 + 45000 = 1644000 µ$
  setAttrs(b, { ...big, model: { stringValue: 'claude-sonnet-4-5[1m]' } });
  const { out } = await run(doc, { recompute: true });
  const figures = out.filter((lr) => attrs(lr)['agentrelay.cost_usd']).map((lr) => [attrs(lr).model.stringValue, attrs(lr)['agentrelay.cost_usd'].doubleValue]);
  assert.deepEqual(figures, [
    ['claude-haiku-4-5-20251001', 0.006662],
    ['claude-sonnet-4-5', 0.8295],
    ['claude-sonnet-4-5[1m]', 1.644],
  ]);
});

test('an unknown model gets no price: marked, its tokens counted by model, named once in a warning', async () => {
  const { out, telemetry, warnings } = await run(fixtureJson('gemini-cli/noninteractive/02-logs.json'));
  const responses = out.filter((lr) => eventName(lr) === 'gemini_cli.api_response');
  assert.equal(responses.length, 3);
  for (const lr of responses) {
    assert.equal(attrs(lr).cost_usd, undefined, 'no guessed price');
    assert.deepEqual(attrs(lr)['agentrelay.cost_unpriced'], { boolValue: true });
  }
  // gemini-3.5-flash-lite must not take gemini-3.5-flash's price. Tokens: every class once (= total_token_count).
  assert.equal(telemetry.total('cost_unpriced_tokens', { model: 'gemini-3.5-flash-lite' }), 3035);
  assert.equal(telemetry.total('cost_unpriced_tokens', { model: 'gemini-3.8-flash' }), 3064 + 3034);
  assert.deepEqual(warnings.map((w) => w.model), ['gemini-3.5-flash-lite', 'gemini-3.8-flash']);
});

test('a price override changes the figure; an inline row prices an unknown model', async () => {
  // gemini-2.5-flash at 0.20 / 0.02 / 2.00: 1808*0.20 + 1200*0.02 + 55*2 = 361.6 + 24 + 110 = 495.6 µ$
  // gemini-3.8-flash at 1 / 0.1 / 5: (1802 + 7)*1 + 1200*0.1 + (40 + 15)*5 = 1809 + 120 + 275 = 2204 µ$
  //                                   (1803 + 7)*1 + 120 + (9 + 15)*5          = 1810 + 120 + 120 = 2050 µ$
  const prices = {
    'gemini-2.5-flash': { provider: 'google', input: 0.2, cache_read: 0.02, output: 2, source: 'contract', date: '2026-12-01' },
    'gemini-3.8-flash': { provider: 'google', input: 1, cache_read: 0.1, output: 5, source: 'guess for the test', date: '2026-12-01' },
  };
  const priced = await run(fixtureJson('gemini-cli/priced-model/02-logs.json'), { prices });
  assert.equal(costs(priced.out)[0][2], 0.0004956);
  const extended = await run(fixtureJson('gemini-cli/noninteractive/02-logs.json'), { prices });
  assert.deepEqual(costs(extended.out).map((c) => c[2]), [undefined, 0.002204, 0.00205]);
});

test('a batch without token-count events is handed on untouched, with its received bytes', async () => {
  const s = setup();
  const bytes = fs.readFileSync(path.join(FIXTURES_DIR, 'claude-code/protobuf/01-logs.pb'));
  const b = Batch.fromProto('logs', bytes);
  await s.p.consume(b);
  assert.equal(s.got[0], b);
  assert.equal(s.got[0].toProto(), bytes);
});

test('an event already priced or marked is not priced again', async () => {
  const s = setup();
  await s.p.consume(Batch.fromJsonObject('logs', fixtureJson('codex/exec/04-logs.json')));
  await s.p.consume(Batch.fromJsonObject('logs', fixtureJson('gemini-cli/noninteractive/02-logs.json')));
  const again = setup();
  for (const b of s.got) await again.p.consume(b);
  assert.equal(again.got[0], s.got[0]);
  assert.equal(again.got[1], s.got[1]);
  assert.equal(again.telemetry.total('cost_unpriced_tokens'), 0);
});
