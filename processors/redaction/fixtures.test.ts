// The recorded payloads of Claude Code, Codex CLI and Gemini CLI (../shared/fixtures/agents),
// JSON and protobuf, through the processor with its defaults: none of the secrets planted
// in the agents' tool calls, and none of the prompts, is left in the protobuf or JSON
// encoding of the output, while the tool calls themselves stay readable.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Batch } from '../../src/otlp/batch';
import { FIXTURES_DIR, listFixtures, type Fixture } from '../../test/helpers/fixtures';
import { KEY, assertAbsent, attrOf, harness, logRecordsOf, type Json } from './test-support';

/** The README of the fixtures lists these as planted; the prompts are content. */
const PLANTED = [
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'xoxb-1234567890-abcdefghij',
  'sk-proj-FAKEabcdefghijklmnopqrstuvwxyz0123456789',
];
const PROMPTS = ['say hello using bash', 'say hello using the shell'];

function load(f: Fixture): Batch {
  const raw = fs.readFileSync(f.file);
  return f.format === 'proto' ? Batch.fromProto(f.signal, raw) : Batch.fromJsonObject(f.signal, JSON.parse(raw.toString('utf8')));
}

const fixtures = listFixtures();

test('the fixtures are there and carry the planted secrets and prompts', () => {
  assert.ok(fixtures.length >= 30, `${fixtures.length} fixtures in ${FIXTURES_DIR}`);
  const all = fixtures.map((f) => fs.readFileSync(f.file)).reduce((a, b) => Buffer.concat([a, b]));
  for (const s of [...PLANTED, ...PROMPTS]) assert.ok(all.includes(Buffer.from(s)), `${s} is planted somewhere`);
});

for (const f of fixtures) {
  test(`${f.name}: no planted secret or prompt in the output`, async () => {
    const out = await harness({}, f.signal).run(load(f));
    assertAbsent(out, [...PLANTED, ...PROMPTS], f.name);
    assert.equal(out.itemCount(), load(f).itemCount(), 'no record lost');
  });
}

const fixture = (name: string) => fixtures.find((f) => f.name === name)!;
const byEvent = (recs: Json[], name: string) => recs.filter((r) => attrOf(r, 'event.name') === name);

test('Claude Code: prompt and response masked, lengths kept, tool parameters kept with the token replaced', async () => {
  const recs = logRecordsOf(await harness({}, 'logs').run(load(fixture(path.join('claude-code', 'tool-call', '01-logs.json')))));
  const prompt = byEvent(recs, 'user_prompt')[0];
  assert.equal(attrOf(prompt, 'prompt'), '[REDACTED]');
  assert.equal(attrOf(prompt, 'prompt_length'), '20');
  for (const r of byEvent(recs, 'assistant_response')) {
    assert.equal(attrOf(r, 'response'), '[REDACTED]');
    assert.equal(attrOf(r, 'response_length'), '40');
  }
  const result = byEvent(recs, 'tool_result')[0];
  assert.deepEqual(JSON.parse(attrOf(result, 'tool_parameters') as string), {
    bash_command: 'echo',
    full_command: 'echo hello && export GITHUB_TOKEN=[REDACTED:github-token]',
    description: 'Say hello',
  });
  assert.deepEqual(JSON.parse(attrOf(result, 'tool_input') as string), { command: 'echo hello && export GITHUB_TOKEN=[REDACTED:github-token]', description: 'Say hello' });
  assert.equal(attrOf(result, 'tool_input_size_bytes'), '114');
});

test('Claude Code metrics have nothing to redact and keep their bytes', async () => {
  const b = load(fixture(path.join('claude-code', 'protobuf', '02-metrics.pb')));
  const bytes = b.toProto();
  const out = await harness({}, 'metrics').run(b);
  assert.equal(out.toProto(), bytes);
});

test('Codex: prompt and tool output masked, the command kept with the AWS secret replaced', async () => {
  const recs = logRecordsOf(await harness({}, 'logs').run(load(fixture(path.join('codex', 'exec-protobuf', '04-logs.pb')))));
  assert.equal(attrOf(byEvent(recs, 'codex.user_prompt')[0], 'prompt'), '[REDACTED]');
  assert.equal(attrOf(byEvent(recs, 'codex.user_prompt')[0], 'prompt_length'), '25');
  const result = byEvent(recs, 'codex.tool_result')[0];
  assert.deepEqual(JSON.parse(attrOf(result, 'arguments') as string), {
    cmd: 'echo hi && export AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]',
    yield_time_ms: 1000,
  });
  assert.equal(attrOf(result, 'output'), '[REDACTED]');
  assert.equal(attrOf(result, 'tool_name'), 'exec_command');
});

test('Gemini CLI logs: command line reduced to the program, bodies keep their structure with text masked and tool calls scrubbed', async () => {
  const out = await harness({}, 'logs').run(load(fixture(path.join('gemini-cli', 'noninteractive', '02-logs.json'))));
  const j = JSON.parse(out.toJson().toString()) as Json;
  const args = j.resourceLogs[0].resource.attributes.find((a: Json) => a.key === 'process.command_args').value.arrayValue.values;
  assert.deepEqual(args.map((v: Json) => v.stringValue), ['/usr/bin/node', '/usr/lib/node_modules/.bin/gemini']);
  const recs = logRecordsOf(out);
  assert.equal(attrOf(byEvent(recs, 'gemini_cli.user_prompt')[0], 'prompt'), '[REDACTED]');
  assert.deepEqual(JSON.parse(attrOf(byEvent(recs, 'gemini_cli.tool_call')[0], 'function_args') as string), {
    command: 'echo hi && export SLACK_BOT_TOKEN=[REDACTED:slack-token] OPENAI_API_KEY=[REDACTED:openai-api-key]',
    description: 'Say hello',
  });
  // The last request holds the prompt, the model's tool call and the tool's answer.
  const requests = byEvent(recs, 'gemini_cli.api_request');
  const contents = JSON.parse(attrOf(requests[requests.length - 1], 'request_text') as string);
  assert.deepEqual(contents[0].parts.map((p: Json) => p.text), ['[REDACTED]', '[REDACTED]']);
  assert.equal(contents[1].role, 'model');
  assert.equal(contents[1].parts[0].functionCall.name, 'run_shell_command');
  assert.equal(contents[1].parts[0].functionCall.args.command, 'echo hi && export SLACK_BOT_TOKEN=[REDACTED:slack-token] OPENAI_API_KEY=[REDACTED:openai-api-key]');
  assert.equal(contents[2].parts[0].functionResponse.response, '[REDACTED]');
  assert.equal(contents[2].parts[0].functionResponse.name, 'run_shell_command');
  // Token counts in the response bodies are not secrets.
  const response = JSON.parse(attrOf(byEvent(recs, 'gemini_cli.api_response')[0], 'response_text') as string);
  assert.equal(response.usageMetadata.promptTokenCount, 3001);
  assert.equal(response.candidates[0].content.parts[0].text, '[REDACTED]');
  // System instructions are kept as sent.
  const details = byEvent(recs, 'gen_ai.client.inference.operation.details')[0];
  const original = logRecordsOf(load(fixture(path.join('gemini-cli', 'noninteractive', '02-logs.json'))));
  assert.equal(attrOf(details, 'gen_ai.system_instructions'), attrOf(byEvent(original, 'gen_ai.client.inference.operation.details')[0], 'gen_ai.system_instructions'));
  assert.equal(attrOf(byEvent(recs, 'gemini_cli.model_routing')[0], 'reasoning'), '[REDACTED]');
});

test('Gemini CLI spans: message bodies keep tool names and arguments, lose text and tool output', async () => {
  const out = await harness({}, 'traces').run(load(fixture(path.join('gemini-cli', 'noninteractive', '01-traces.json'))));
  const spans = (JSON.parse(out.toJson().toString()) as Json).resourceSpans[0].scopeSpans[0].spans as Json[];
  const tool = spans.find((s) => s.name === 'tool_call')!;
  const input = JSON.parse(attrOf(tool, 'gen_ai.input.messages') as string);
  assert.equal(input.name, 'run_shell_command');
  assert.equal(input.args.command, 'echo hi && export SLACK_BOT_TOKEN=[REDACTED:slack-token] OPENAI_API_KEY=[REDACTED:openai-api-key]');
  const output = JSON.parse(attrOf(tool, 'gen_ai.output.messages') as string);
  assert.equal(output.status, 'success');
  assert.equal(output.response, '[REDACTED]');
  const llm = spans.filter((s) => s.name === 'llm_call');
  assert.deepEqual(JSON.parse(attrOf(llm[0], 'gen_ai.output.messages') as string), { role: 'model', parts: [{ text: '[REDACTED]' }] });
});

test('keep everything but secrets: the prompt stays, the planted secrets still go', async () => {
  const cfg = { content: { prompt: 'keep', response: 'keep', tool_output: 'keep', command_args: 'keep' } };
  for (const name of [path.join('gemini-cli', 'noninteractive', '02-logs.json'), path.join('codex', 'exec', '04-logs.json')]) {
    const out = await harness(cfg, 'logs').run(load(fixture(name)));
    assertAbsent(out, PLANTED, name);
    assert.ok(out.toJson().toString().includes('say hello using the shell'), `${name}: the prompt is kept`);
  }
});

test('Claude Code logs and metrics of one user carry the same pseudonym', async () => {
  const cfg = { key: KEY, pseudonymize: { attributes: ['user.id'] } };
  const logs = logRecordsOf(await harness(cfg, 'logs').run(load(fixture(path.join('claude-code', 'tool-call', '01-logs.json')))));
  const metrics = await harness(cfg, 'metrics').run(load(fixture(path.join('claude-code', 'tool-call', '02-metrics.json'))));
  const original = attrOf(logRecordsOf(load(fixture(path.join('claude-code', 'tool-call', '01-logs.json'))))[0], 'user.id') as string;
  assertAbsent(metrics, [original]);
  const ids = new Set(logs.map((r) => attrOf(r, 'user.id')));
  assert.equal(ids.size, 1);
  const pseudonym = [...ids][0] as string;
  assert.match(pseudonym, /^[0-9a-f]{32}$/);
  const points = (JSON.parse(metrics.toJson().toString()) as Json).resourceMetrics.flatMap((rm: Json) =>
    rm.scopeMetrics.flatMap((sm: Json) => sm.metrics.flatMap((m: Json) => m.sum.dataPoints)),
  );
  assert.ok(points.length > 0);
  for (const p of points) assert.equal(attrOf(p, 'user.id'), pseudonym);
});

test('Gemini CLI bodies with hash and drop: prompt text hashed alike everywhere, tool arguments dropped, structure kept', async () => {
  const h = harness({ key: KEY, content: { prompt: 'hash', tool_arguments: 'drop', tool_output: 'keep' }, summary: 'debug' }, 'logs');
  const recs = logRecordsOf(await h.run(load(fixture(path.join('gemini-cli', 'noninteractive', '02-logs.json')))));
  const prompt = attrOf(byEvent(recs, 'gemini_cli.user_prompt')[0], 'prompt') as string;
  assert.match(prompt, /^hmac:[0-9a-f]{32}$/);
  const requests = byEvent(recs, 'gemini_cli.api_request');
  const last = JSON.parse(attrOf(requests[requests.length - 1], 'request_text') as string);
  assert.equal(last[0].parts[1].text, prompt, 'the prompt inside request_text hashes as the prompt attribute does');
  assert.deepEqual(Object.keys(last[1].parts[0].functionCall).sort(), ['id', 'name'], 'arguments dropped, the call kept');
  assert.deepEqual(last[2].parts[0].functionResponse.response, { output: '<untrusted_context>\nOutput: hi\nProcess Group PGID: 13592\n</untrusted_context>' }, 'tool output kept');
  assert.equal(attrOf(byEvent(recs, 'gemini_cli.tool_call')[0], 'function_args'), undefined);
  assert.equal(attrOf(byEvent(recs, 'gemini_cli.tool_call')[0], 'redaction.redacted.keys'), 'function_args');
  assert.equal(h.telemetry.total('redaction_fields', { field: 'request_text', action: 'hash' }), requests.length);
});

test('summary attributes on spans', async () => {
  const out = await harness({ summary: 'info' }, 'traces').run(load(fixture(path.join('gemini-cli', 'noninteractive', '01-traces.json'))));
  const spans = (JSON.parse(out.toJson().toString()) as Json).resourceSpans[0].scopeSpans[0].spans as Json[];
  const tool = spans.find((s) => s.name === 'tool_call')!;
  assert.equal(attrOf(tool, 'redaction.masked.count'), '2', 'gen_ai.input.messages and gen_ai.output.messages');
  assert.ok(Number(attrOf(tool, 'redaction.secrets.count')) >= 4);
});
