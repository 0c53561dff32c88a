import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { resourceProcessor } from './index';
import { Batch } from '../../src/otlp/batch';
import type { Signal } from '../../src/otlp/schema';
import type { LogsRequest, TracesRequest } from '../../src/otlp/model';
import { countUnknownFields, withUnknownFieldInRecords } from '../../test/helpers/unknown-fields';
import { loadConfigText } from '../../src/config/load';
import { firstDifference } from '../../test/helpers/otlp-compare';
import { attr, fixtureBatch, fixtureJson, harness, keys, loadExample, readmeOf, records, scalar, yamlBlocks, type Json } from '../attributes/testing';

const KEY = 'resource-processor-test-key-0123456789';
const TOP: Record<Signal, string> = { logs: 'resourceLogs', metrics: 'resourceMetrics', traces: 'resourceSpans' };
const resources = (signal: Signal, req: Json): Json[] => (req[TOP[signal]] ?? []).map((r: Json) => r.resource ?? {});

const GEMINI: [Signal, string][] = [
  ['logs', 'gemini-cli/noninteractive/02-logs.json'],
  ['traces', 'gemini-cli/noninteractive/01-traces.json'],
  ['metrics', 'gemini-cli/noninteractive/03-metrics.json'],
];

test('Gemini CLI: the command line (which holds the prompt) leaves the resource on every signal; records are untouched', async () => {
  for (const [signal, file] of GEMINI) {
    const h = harness(resourceProcessor, { actions: [{ action: 'delete', key: 'process.command_args' }] }, signal);
    const input = fixtureJson(file);
    const out = (await h.run(fixtureBatch(file)))!.toJsonObject() as Json;
    const [before] = resources(signal, input);
    const [after] = resources(signal, out);
    assert.ok(attr(before, 'process.command_args')?.arrayValue, `${file} has the command line`);
    assert.deepEqual(keys(after), keys(before).filter((k) => k !== 'process.command_args'));
    assert.ok(!JSON.stringify(after).includes('say hello using the shell'));
    const recs = records(signal, out);
    const inRecs = records(signal, input);
    assert.equal(recs.length, inRecs.length);
    for (let i = 0; i < recs.length; i++) assert.equal(firstDifference(recs[i].record, inRecs[i].record), null);
  }
});

test('where on resource attributes: only the matching agent is changed', async () => {
  const joined = Batch.concat('logs', [
    fixtureBatch('claude-code/tool-call/01-logs.json'),
    fixtureBatch('codex/exec/04-logs.json'),
    fixtureBatch('gemini-cli/noninteractive/02-logs.json'),
  ]);
  const h = harness(
    resourceProcessor,
    {
      actions: [
        { action: 'upsert', key: 'agent.vendor', value: 'openai', where: { attribute: 'resource.service.name', in: ['codex_exec', 'codex_cli_rs'] } },
        { action: 'insert', key: 'host.name', value: 'unknown' },
      ],
    },
    'logs',
  );
  const out = (await h.run(joined))!.toJsonObject() as Json;
  const res = resources('logs', out);
  assert.deepEqual(res.map((r) => scalar(r, 'service.name')), ['claude-code', 'codex_exec', 'gemini-cli']);
  assert.deepEqual(res.map((r) => scalar(r, 'agent.vendor')), [undefined, 'openai', undefined]);
  // Claude Code sends no host.name; Codex (logs) and Gemini CLI do, and keep theirs.
  assert.deepEqual(res.map((r) => scalar(r, 'host.name')), ['unknown', 'vm', 'vm']);
});

test('rename, convert and hash on resource attributes', async () => {
  const file = 'gemini-cli/noninteractive/01-traces.json';
  const h = harness(
    resourceProcessor,
    {
      actions: [
        { action: 'rename', key: 'service.version', to: 'process.runtime.reported_version' },
        { action: 'convert', key: 'process.pid', converted_type: 'string' },
        { action: 'hash', key: 'session.id', hmac_key: KEY },
        { action: 'truncate', key: 'process.command', length: 4 },
      ],
    },
    'traces',
  );
  const [before] = resources('traces', fixtureJson(file));
  const [after] = resources('traces', (await h.run(fixtureBatch(file)))!.toJsonObject());
  assert.equal(attr(after, 'service.version'), undefined);
  assert.deepEqual(attr(after, 'process.runtime.reported_version'), attr(before, 'service.version'));
  assert.deepEqual(attr(after, 'process.pid'), { stringValue: String(attr(before, 'process.pid')!.intValue) });
  const want = createHmac('sha256', Buffer.from(KEY)).update(attr(before, 'session.id')!.stringValue).digest('hex');
  assert.deepEqual(attr(after, 'session.id'), { stringValue: want });
  assert.equal(scalar(after, 'process.command'), '/usr');
  assert.equal(h.telemetry.total('attribute_values_truncated', { component: 'resource' }), 1);
});

test('Claude Code over protobuf: the resource changes, the re-encoding carries it', async () => {
  const h = harness(resourceProcessor, { actions: [{ action: 'upsert', key: 'team', value: 'platform' }] }, 'metrics');
  const out = await h.run(fixtureBatch('claude-code/protobuf/02-metrics.pb'));
  const again = Batch.fromProto('metrics', out!.toProto()).toJsonObject();
  for (const r of resources('metrics', again)) {
    assert.equal(scalar(r, 'team'), 'platform');
    assert.equal(scalar(r, 'service.name'), 'claude-code');
  }
});

test('a request without a resource gets one when an action adds to it', async () => {
  const b = Batch.fromJsonObject('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] }] });
  const h = harness(resourceProcessor, { actions: [{ action: 'insert', key: 'service.name', value: 'unknown_service' }] }, 'logs');
  const out = (await h.run(b))!.toJsonObject() as Json;
  assert.equal(scalar(out.resourceLogs[0].resource, 'service.name'), 'unknown_service');
  const del = harness(resourceProcessor, { actions: [{ action: 'delete', key: 'service.name' }] }, 'logs');
  const b2 = Batch.fromJsonObject('logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{}] }] }] });
  assert.equal(await del.run(b2), b2);
  assert.equal((b2.read() as LogsRequest).resourceLogs[0].resource ?? null, null, 'a batch nothing changes is not given a resource');
});

test('a batch no action changes is handed on untouched, protobuf bytes and all', async () => {
  const h = harness(
    resourceProcessor,
    { actions: [{ action: 'delete', key: 'process.command_args', where: { attribute: 'resource.service.name', equals: 'gemini-cli' } }] },
    'logs',
  );
  const b = fixtureBatch('codex/exec-protobuf/04-logs.pb');
  const bytes = b.toProto();
  const out = await h.run(b);
  assert.equal(out, b);
  assert.equal(out!.toProto(), bytes);
});

const pipeline = (procs: string) => `
receivers: {otlp: {}}
exporters: {debug: {}}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [${procs}], exporters: [debug]}
`;

test('a where that reads anything but resource attributes is an error with its path', () => {
  const r = loadConfigText(
    `processors:
  resource/x:
    actions:
      - {action: delete, key: a, where: {attribute: service.name, equals: x}}
      - {action: delete, key: a, where: {any: [{attribute: resource.service.name, equals: x}, {event: tool_result}]}}
      - {action: delete, key: a, where: {not: {field: name, equals: x}}}
      - {action: delete, key: a, where: {attribute: resource.service.name, equals: x}}
      - {action: insert, value: 1}
${pipeline('resource/x')}`,
    {},
  );
  const errs = r.errors.map((e) => e.replace(/ \(line \d+\)$/, ''));
  assert.deepEqual(errs, [
    'processors.resource/x.actions[0].where.attribute: the resource processor sees only resource attributes: write resource.service.name',
    'processors.resource/x.actions[1].where.any[1].event: "event" reads records, which the resource processor does not see; use attribute: resource.KEY',
    'processors.resource/x.actions[2].where.not.field: "field" reads records, which the resource processor does not see; use attribute: resource.KEY',
    'processors.resource/x.actions[4].key: is required',
  ]);
});

test('resource: {} is a valid config', () => {
  assert.deepEqual(loadConfigText(`processors:\n  resource: {}\n${pipeline('resource')}`, {}).errors, []);
});

test('the README example loads, and does what it says on all three agents', async () => {
  const blocks = yamlBlocks(readmeOf(__dirname));
  assert.ok(blocks.length >= 1);
  for (const b of blocks) assert.deepEqual(loadExample(b, { RESOURCE_HMAC_KEY: KEY }).errors, [], b);
  const block = blocks[0].replace('${env:RESOURCE_HMAC_KEY}', KEY).replace('${env:DEPLOYMENT_ENV:-dev}', 'dev');
  const config = Object.values((parseYaml(block) as { processors: Record<string, unknown> }).processors)[0];
  for (const [signal, file] of [...GEMINI, ['logs', 'codex/exec/04-logs.json'], ['metrics', 'claude-code/tool-call/02-metrics.json']] as [Signal, string][]) {
    const h = harness(resourceProcessor, config, signal, 'resource/agents');
    const [before] = resources(signal, fixtureJson(file));
    const [after] = resources(signal, (await h.run(fixtureBatch(file)))!.toJsonObject());
    assert.equal(attr(after, 'process.command_args'), undefined, file);
    assert.equal(attr(after, 'env'), undefined);
    // Codex's own env setting wins over the default.
    assert.equal(scalar(after, 'deployment.environment.name'), scalar(before, 'env') ?? 'dev', file);
    const host = scalar(before, 'host.name');
    assert.equal(scalar(after, 'host.name'), host === undefined ? undefined : createHmac('sha256', KEY).update(host as string).digest('hex'));
    if (scalar(before, 'service.name') === 'gemini-cli') {
      assert.equal(attr(after, 'service.version'), undefined);
      assert.equal(scalar(after, 'process.runtime.reported_version'), 'v20.20.2');
    } else {
      assert.deepEqual(attr(after, 'service.version'), attr(before, 'service.version'));
    }
  }
});

test('a changed resource leaves every record with the bytes it arrived with', async () => {
  // A field OTLP does not define rides on every span: it is still there only if the span was not encoded anew.
  const input = withUnknownFieldInRecords(fixtureBatch('codex/exec-protobuf/01-traces.pb').toProto());
  const spans = (Batch.fromProto('traces', input).read() as TracesRequest).resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((k, ss) => k + ss.spans.length, 0), 0);
  const h = harness(resourceProcessor, { actions: [{ action: 'upsert', key: 'deployment.environment', value: 'prod' }] }, 'traces');
  const sent = Buffer.from((await h.run(Batch.fromProto('traces', input)))!.toProto());
  for (const r of resources('traces', Batch.fromProto('traces', sent).toJsonObject())) assert.deepEqual(attr(r, 'deployment.environment'), { stringValue: 'prod' });
  assert.ok(spans > 100);
  assert.equal(countUnknownFields(sent), spans, 'every span is sent as received');
});
