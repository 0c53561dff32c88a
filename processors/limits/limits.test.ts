import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { limitsProcessor } from './index';
import { Utf8Cutter } from './utf8';
import { Batch } from '../../src/otlp/batch';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import type { Consumer } from '../../src/pipeline/component';
import type { Signal } from '../../src/otlp/schema';
import { FIXTURES_DIR } from '../../test/helpers/fixtures';
import { firstDifference } from '../../test/helpers/otlp-compare';
import { countUnknownFields, withUnknownFieldInRecords } from '../../test/helpers/unknown-fields';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function configOf(raw: unknown) {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const cfg = limitsProcessor.schema.check(raw, ['processors', 'limits'], { issues: issues as never });
  return { cfg, issues };
}

async function run(signal: Signal, batch: Batch, raw: unknown = {}): Promise<{ out: Batch; telemetry: Telemetry }> {
  const { cfg, issues } = configOf(raw);
  assert.deepEqual(issues, []);
  const telemetry = new Telemetry();
  const got: Batch[] = [];
  const next: Consumer = { consume: async (b) => void got.push(b) };
  const p = limitsProcessor.create(cfg!, { id: 'limits', logger: createLogger({ level: 'silent' }), telemetry, signal, pipeline: signal }, next);
  await p.consume(batch);
  assert.equal(got.length, 1);
  // What leaves must still encode and decode as OTLP.
  Batch.fromProto(signal, got[0].toProto()).read();
  return { out: got[0], telemetry };
}

const readJson = (rel: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, rel), 'utf8')) as Json;
const utf8Len = (s: string) => Buffer.byteLength(s, 'utf8');

/** Reference cut, code point by code point: the longest prefix of at most `max` UTF-8 bytes. */
function refCut(s: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const n = utf8Len(ch);
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}

function spansOf(req: Json): Json[] {
  return (req.resourceSpans ?? []).flatMap((rs: Json) => (rs.scopeSpans ?? []).flatMap((ss: Json) => ss.spans ?? []));
}

const GEMINI_TRACES = ['gemini-cli/noninteractive/01-traces.json', 'gemini-cli/interactive/02-traces.json', 'gemini-cli/priced-model/01-traces.json'];

describe('Gemini CLI spans with ~31 KB system instructions and ~16 KB tool definitions, default limits', () => {
  for (const rel of GEMINI_TRACES) {
    test(rel, async () => {
      const sent = readJson(rel);
      const { out, telemetry } = await run('traces', Batch.fromJsonObject('traces', sent));
      const got = spansOf(out.toJsonObject() as Json);
      const want = spansOf(sent);
      assert.equal(got.length, want.length);
      const MAX = 16 * 1024;
      let cut = 0;
      let removed = 0;
      for (let i = 0; i < want.length; i++) {
        const expected = structuredClone(want[i]);
        for (const a of expected.attributes) {
          const sv = a.value?.stringValue;
          if (typeof sv === 'string' && utf8Len(sv) > MAX) {
            a.value.stringValue = refCut(sv, MAX);
            cut++;
            removed += utf8Len(sv) - utf8Len(a.value.stringValue);
          }
        }
        assert.equal(firstDifference(got[i], expected), null, `span ${i} (${want[i].name})`);
        for (const a of got[i].attributes) if (a.value.stringValue) assert.ok(utf8Len(a.value.stringValue) <= MAX);
      }
      assert.ok(cut >= 2, 'the system instructions of the main calls were cut');
      const sys = got.find((s) => s.name === 'llm_call' && s.attributes.some((a: Json) => a.key === 'gen_ai.system_instructions' && utf8Len(a.value.stringValue) === MAX));
      assert.ok(sys, 'a system instruction cut to exactly 16 KiB (it is ASCII)');
      assert.equal(telemetry.total('limits_truncated_values', { limit: 'attribute_value_size', signal: 'traces' }), cut);
      assert.equal(telemetry.total('limits_truncated_bytes', { limit: 'attribute_value_size' }), removed);
      assert.equal(telemetry.total('limits_dropped'), 0);
    });
  }
  test('the tool definitions: kept at 14,796 bytes, cut at 16,579 and 22,565', async () => {
    const sizes = async (rel: string) => {
      const { out } = await run('traces', Batch.fromJsonObject('traces', readJson(rel)));
      return spansOf(out.toJsonObject() as Json)
        .flatMap((s) => s.attributes.filter((a: Json) => a.key === 'gen_ai.tool.definitions'))
        .map((a: Json) => utf8Len(a.value.stringValue))
        .filter((n: number) => n > 1000); // the classifier call sends "[]"
    };
    assert.deepEqual(await sizes('gemini-cli/noninteractive/01-traces.json'), [14796, 14796]);
    assert.deepEqual(await sizes('gemini-cli/interactive/02-traces.json'), [16384, 16384]);
    assert.deepEqual(await sizes('gemini-cli/priced-model/01-traces.json'), [16384, 16384]);
  });
});

test('log records: attribute values, the body, and the attribute count (first ones kept, droppedAttributesCount raised)', async () => {
  const sent = readJson('gemini-cli/noninteractive/02-logs.json');
  const { out, telemetry } = await run('logs', Batch.fromJsonObject('logs', sent), { max_attribute_value_size: 1000, max_body_size: 20, max_attributes: 10 });
  const recs = (j: Json) => j.resourceLogs.flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords));
  const got = recs(out.toJsonObject() as Json);
  const want = recs(sent);
  let dropped = 0;
  let bodies = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    assert.equal(g.attributes.length, Math.min(10, w.attributes.length));
    assert.equal(g.droppedAttributesCount ?? 0, Math.max(0, w.attributes.length - 10));
    dropped += Math.max(0, w.attributes.length - 10);
    g.attributes.forEach((a: Json, j: number) => {
      assert.equal(a.key, w.attributes[j].key, 'the first attributes are kept, in order');
      const sv = w.attributes[j].value.stringValue;
      if (typeof sv === 'string') assert.equal(a.value.stringValue, refCut(sv, 1000));
    });
    assert.equal(g.body.stringValue, refCut(w.body.stringValue, 20));
    if (utf8Len(w.body.stringValue) > 20) bodies++;
  }
  assert.ok(dropped > 0 && bodies > 0);
  for (const rl of sent.resourceLogs) dropped += Math.max(0, rl.resource.attributes.length - 10); // Gemini's resource has 14
  assert.equal(telemetry.total('limits_dropped', { kind: 'attribute', signal: 'logs' }), dropped);
  assert.equal(telemetry.total('limits_truncated_values', { limit: 'body_size' }), bodies);
});

test('resource: process.command_args array capped, the prompt in it cut; data point attributes limited', async () => {
  const sent = readJson('gemini-cli/noninteractive/03-metrics.json');
  const { out, telemetry } = await run('metrics', Batch.fromJsonObject('metrics', sent), { max_array_length: 4, max_attribute_value_size: 8 });
  const j = out.toJsonObject() as Json;
  const res = j.resourceMetrics[0].resource;
  const args = res.attributes.find((a: Json) => a.key === 'process.command_args').value.arrayValue.values;
  assert.deepEqual(args.map((v: Json) => v.stringValue), ['/usr/bin', '--max-ol', '/usr/lib', '-p']);
  assert.ok(telemetry.total('limits_dropped', { kind: 'array_element' }) === 2);
  assert.ok(telemetry.total('limits_truncated_values', { limit: 'array_length' }) === 1);
  let points = 0;
  for (const m of j.resourceMetrics[0].scopeMetrics.flatMap((s: Json) => s.metrics)) {
    for (const dp of (m.sum ?? m.histogram).dataPoints) {
      points++;
      for (const a of dp.attributes) if (a.value.stringValue !== undefined) assert.ok(utf8Len(a.value.stringValue) <= 8);
    }
  }
  assert.ok(points > 0);
});

test('span events and links beyond the limit are dropped and counted in the span', async () => {
  const ev = (i: number) => ({ name: `e${i}`, timeUnixNano: String(i), attributes: [{ key: 'k', value: { stringValue: 'x'.repeat(50) } }] });
  const link = (i: number) => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: `b7ad6b716920333${i}`, attributes: [{ key: 'k', value: { bytesValue: Buffer.alloc(40, i).toString('base64') } }] });
  const req = {
    resourceSpans: [{ scopeSpans: [{ spans: [{
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 's',
      events: [0, 1, 2, 3, 4].map(ev), droppedEventsCount: 1, links: [1, 2, 3].map(link),
    }] }] }],
  };
  const { out, telemetry } = await run('traces', Batch.fromJsonObject('traces', req), { max_span_events: 2, max_span_links: 1, max_attribute_value_size: 10 });
  const span = spansOf(out.toJsonObject() as Json)[0];
  assert.deepEqual(span.events.map((e: Json) => e.name), ['e0', 'e1']);
  assert.equal(span.droppedEventsCount, 4, 'the 1 the sender dropped and the 3 cut here');
  assert.equal(span.links.length, 1);
  assert.equal(span.droppedLinksCount, 3 - 1);
  assert.equal(span.events[0].attributes[0].value.stringValue, 'x'.repeat(10));
  assert.equal(Buffer.from(span.links[0].attributes[0].value.bytesValue, 'base64').length, 10, 'bytes values are cut to the size too');
  assert.equal(telemetry.total('limits_dropped', { kind: 'span_event' }), 3);
  assert.equal(telemetry.total('limits_dropped', { kind: 'span_link' }), 2);
});

test('a structured body: its strings follow the attribute value size, its lists the array length', async () => {
  const req = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { kvlistValue: { values: [
    { key: 'text', value: { stringValue: 'é'.repeat(100) } },
    { key: 'list', value: { arrayValue: { values: [1, 2, 3].map((n) => ({ intValue: n })) } } },
  ] } } }] }] }] };
  const { out } = await run('logs', Batch.fromJsonObject('logs', req), { max_attribute_value_size: 9, max_array_length: 2, max_body_size: 1 });
  const body = (out.toJsonObject() as Json).resourceLogs[0].scopeLogs[0].logRecords[0].body.kvlistValue.values;
  assert.equal(body[0].value.stringValue, 'éééé', '4 two-byte characters: 8 bytes, never half of one');
  assert.equal(body[1].value.arrayValue.values.length, 2);
});

test('a batch within its limits is handed on untouched, with its original protobuf bytes', async () => {
  const input = Batch.fromProto('traces', fs.readFileSync(path.join(FIXTURES_DIR, 'codex/exec-protobuf/01-traces.pb')));
  const bytes = input.toProto();
  const { out, telemetry } = await run('traces', input);
  assert.equal(out.toProto(), bytes);
  assert.equal(telemetry.total('limits_truncated_values'), 0);
});

test('0 turns a limit off', async () => {
  const sent = readJson('gemini-cli/priced-model/01-traces.json');
  const input = Batch.fromProto('traces', Batch.fromJsonObject('traces', sent).toProto());
  const bytes = input.toProto();
  const { out } = await run('traces', input, { max_attribute_value_size: 0 });
  assert.equal(out.toProto(), bytes);
});

test('Utf8Cutter: a prefix, within the size, never inside a character, and the longest such prefix', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 300 }), (s, max) => {
      const c = new Utf8Cutter(max).cut(s);
      if (utf8Len(s) <= max) return c === undefined;
      assert.ok(c);
      assert.equal(c.text, refCut(s, max));
      assert.equal(c.removed, utf8Len(s) - utf8Len(c.text));
      return utf8Len(c.text) <= max && s.startsWith(c.text);
    }),
    { numRuns: 2000 },
  );
});

test('config: {} has the documented defaults; mistakes name their YAML path', () => {
  const ok = configOf({});
  assert.deepEqual(ok.issues, []);
  assert.deepEqual(ok.cfg, {
    max_attribute_value_size: 16384, max_attributes: 128, max_array_length: 128, max_body_size: 65536, max_span_events: 128, max_span_links: 128,
  });
  assert.equal(configOf({ max_attribute_value_size: '4KiB' }).cfg!.max_attribute_value_size, 4096);
  const bad = configOf({ max_attributes: -1, max_body_size: 'big', max_span_links: 1.5, max_values: 3 });
  assert.deepEqual(bad.issues.map((i) => i.path.join('.')).sort(), [
    'processors.limits.max_attributes', 'processors.limits.max_body_size', 'processors.limits.max_span_links', 'processors.limits.max_values',
  ]);
});

test('the README examples are valid configs', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../../processors/limits/README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as Json);
  assert.ok(blocks.length > 0);
  for (const b of blocks)
    for (const [id, cfg] of Object.entries(b.processors ?? {})) {
      assert.match(id, /^limits(\/|$)/);
      assert.deepEqual(configOf(cfg).issues, [], id);
    }
});

test('records within the limits are sent with their received bytes; cut ones are encoded anew', async () => {
  // A field OTLP does not define rides on every log record: it survives only where a record was not encoded anew.
  const input = withUnknownFieldInRecords(fs.readFileSync(path.join(FIXTURES_DIR, 'claude-code/protobuf/01-logs.pb')));
  const longest = (r: Json) => Math.max(...(r.attributes ?? []).map((a: Json) => utf8Len(a.value?.stringValue ?? '')));
  const before = Batch.fromProto('logs', input).toJsonObject() as Json;
  const logs: Json[] = before.resourceLogs.flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords));
  const over = logs.filter((r) => longest(r) > 100).length;
  assert.ok(over > 0 && over < logs.length);
  const { out } = await run('logs', Batch.fromProto('logs', input), { max_attribute_value_size: 100 });
  const sent = Buffer.from(out.toProto());
  assert.equal(countUnknownFields(sent), logs.length - over);
  const after = Batch.fromProto('logs', sent).toJsonObject() as Json;
  for (const rl of after.resourceLogs) for (const sl of rl.scopeLogs) for (const r of sl.logRecords) assert.ok(longest(r) <= 100);
});
