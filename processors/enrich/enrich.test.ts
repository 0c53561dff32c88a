import { test, describe, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { enrichProcessor } from './index';
import { parseCsv, parseTable, TableError } from './table';
import { LookupTable } from './lookup';
import { Batch } from '../../src/otlp/batch';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import type { Consumer, Processor } from '../../src/pipeline/component';
import type { Signal } from '../../src/otlp/schema';
import { FIXTURES_DIR } from '../../test/helpers/fixtures';
import { firstDifference } from '../../test/helpers/otlp-compare';
import { countUnknownFields, withUnknownFieldInRecords } from '../../test/helpers/unknown-fields';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const USER_A = 'b91b1beaebb1771f832f4c5e9ab692b076062ffdb854b4151df91ff2ed314aed'; // claude-code/tool-call
const USER_B = 'e5e099648da8d136f195fc38cf6caf410e6682b08fd046fe791d58dc3c003e3c'; // claude-code/tool-call-2

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrich-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function writeFile(ext: string, text: string): string {
  const f = path.join(dir, `t${fileNo++}.${ext}`);
  fs.writeFileSync(f, text);
  return f;
}

function configOf(raw: unknown) {
  const issues: { path: (string | number)[]; message: string; severity: string }[] = [];
  const cfg = enrichProcessor.schema.check(raw, ['processors', 'enrich'], { issues: issues as never });
  return { cfg, issues };
}

interface Setup {
  p: Processor;
  got: Batch[];
  telemetry: Telemetry;
}

async function setup(signal: Signal, raw: unknown, id = `enrich/t${fileNo++}`): Promise<Setup> {
  const { cfg, issues } = configOf(raw);
  assert.deepEqual(issues.filter((i) => i.severity === 'error'), []);
  const telemetry = new Telemetry();
  const got: Batch[] = [];
  const next: Consumer = { consume: async (b) => void got.push(b) };
  const p = enrichProcessor.create(cfg!, { id, logger: createLogger({ level: 'silent' }), telemetry, signal, pipeline: signal }, next);
  await p.start?.();
  return { p, got, telemetry };
}

async function run(signal: Signal, batch: Batch, raw: unknown): Promise<Json> {
  const s = await setup(signal, raw);
  await s.p.consume(batch);
  await s.p.shutdown?.(Date.now() + 1000);
  assert.equal(s.got.length, 1);
  return s.got[0].toJsonObject() as Json;
}

const readJson = (rel: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, rel), 'utf8')) as Json;
const load = (rel: string, signal: Signal) => Batch.fromJsonObject(signal, readJson(rel));
const RES_FIELD: Record<Signal, string> = { logs: 'resourceLogs', metrics: 'resourceMetrics', traces: 'resourceSpans' };
const attr = (attrs: Json[] | undefined, key: string) => (attrs ?? []).find((a) => a.key === key)?.value;

/** Each record (log record, span, data point) with its resource, from the OTLP/JSON of a request. */
function records(signal: Signal, req: Json): { resource: Json; record: Json }[] {
  const out: { resource: Json; record: Json }[] = [];
  for (const r of req[RES_FIELD[signal]] ?? []) {
    const resource = r.resource ?? {};
    for (const sc of r.scopeLogs ?? r.scopeSpans ?? r.scopeMetrics ?? []) {
      if (signal === 'logs') for (const record of sc.logRecords ?? []) out.push({ resource, record });
      else if (signal === 'traces') for (const record of sc.spans ?? []) out.push({ resource, record });
      else
        for (const m of sc.metrics ?? [])
          for (const record of (m.sum ?? m.gauge ?? m.histogram ?? m.exponentialHistogram ?? m.summary).dataPoints ?? []) out.push({ resource, record });
    }
  }
  return out;
}

describe('static attributes on the resource, every agent and signal; records untouched', () => {
  const cases: [string, Signal][] = [
    ['claude-code/tool-call/01-logs.json', 'logs'],
    ['claude-code/tool-call/02-metrics.json', 'metrics'],
    ['codex/exec/01-traces.json', 'traces'],
    ['codex/exec/04-logs.json', 'logs'],
    ['gemini-cli/noninteractive/01-traces.json', 'traces'],
    ['gemini-cli/noninteractive/03-metrics.json', 'metrics'],
  ];
  for (const [rel, signal] of cases) {
    test(rel, async () => {
      const sent = readJson(rel);
      const out = await run(signal, Batch.fromJsonObject(signal, sent), {
        static: { 'team.name': 'platform', 'deployment.environment.name': 'prod', 'cost.center': 100, 'service.name': 'overwritten?' },
      });
      const want = sent[RES_FIELD[signal]];
      const got = out[RES_FIELD[signal]];
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) {
        const r = got[i].resource.attributes;
        assert.deepEqual(attr(r, 'team.name'), { stringValue: 'platform' });
        assert.deepEqual(attr(r, 'deployment.environment.name'), { stringValue: 'prod' });
        assert.deepEqual(attr(r, 'cost.center'), { intValue: '100' });
        assert.deepEqual(attr(r, 'service.name'), attr(want[i].resource.attributes, 'service.name'), 'existing attributes are not overwritten');
        assert.equal(r.length, want[i].resource.attributes.length + 3);
        const { resource: _a, ...restGot } = got[i];
        const { resource: _b, ...restWant } = want[i];
        assert.equal(firstDifference(restGot, restWant), null, 'the records are unchanged');
      }
    });
  }
});

test('overwrite: true replaces existing attributes', async () => {
  const out = await run('logs', load('codex/exec/04-logs.json', 'logs'), { static: { env: 'prod' }, overwrite: true });
  for (const rl of out.resourceLogs) assert.deepEqual(attr(rl.resource.attributes, 'env'), { stringValue: 'prod' });
});

test('request headers kept by the receiver become attributes; a header wins over a static value', async () => {
  const b = load('claude-code/tool-call/01-logs.json', 'logs');
  b.metadata = { 'x-team': 'red', 'x-project': 'apollo' };
  const out = await run('logs', b, { static: { 'team.name': 'default' }, from_metadata: { 'X-Team': 'team.name', 'x-project': 'project.name', 'x-absent': 'nothing' } });
  const r = out.resourceLogs[0].resource.attributes;
  assert.deepEqual(attr(r, 'team.name'), { stringValue: 'red' });
  assert.deepEqual(attr(r, 'project.name'), { stringValue: 'apollo' });
  assert.equal(attr(r, 'nothing'), undefined);
  const b2 = load('claude-code/tool-call/01-logs.json', 'logs');
  const out2 = await run('logs', b2, { static: { 'team.name': 'default' }, from_metadata: { 'x-team': 'team.name' } });
  assert.deepEqual(attr(out2.resourceLogs[0].resource.attributes, 'team.name'), { stringValue: 'default' }, 'no header: the static value');
});

describe('lookup file', () => {
  const csv = () => writeFile('csv', `user.id,team.name,cost_center\r\n${USER_A.toUpperCase()},platform,cc-1\r\n${USER_B},"data, science",\r\n`);

  test('CSV, target resource: the user.id on the records picks the row (keys match without regard to case)', async () => {
    const out = await run('logs', load('claude-code/tool-call/01-logs.json', 'logs'), { lookup: { path: csv() } });
    const r = out.resourceLogs[0].resource.attributes;
    assert.deepEqual(attr(r, 'team.name'), { stringValue: 'platform' });
    assert.deepEqual(attr(r, 'cost_center'), { stringValue: 'cc-1' });
    const out2 = await run('logs', load('claude-code/tool-call-2/01-logs.json', 'logs'), { lookup: { path: csv() } });
    const r2 = out2.resourceLogs[0].resource.attributes;
    assert.deepEqual(attr(r2, 'team.name'), { stringValue: 'data, science' });
    assert.equal(attr(r2, 'cost_center'), undefined, 'an empty cell adds nothing');
  });

  test('CSV, target record: every log record and metric data point', async () => {
    for (const [rel, signal] of [['claude-code/tool-call/01-logs.json', 'logs'], ['claude-code/tool-call/02-metrics.json', 'metrics']] as const) {
      const out = await run(signal, load(rel, signal), { target: 'record', lookup: { path: csv() }, static: { env: 'ci' } });
      const recs = records(signal, out);
      assert.ok(recs.length > 0);
      for (const { resource, record } of recs) {
        assert.deepEqual(attr(record.attributes, 'team.name'), { stringValue: 'platform' }, rel);
        assert.deepEqual(attr(record.attributes, 'env'), { stringValue: 'ci' });
        assert.equal(attr(resource.attributes, 'team.name'), undefined);
      }
    }
  });

  test('YAML with typed values; the first key in `keys` that matches wins', async () => {
    const f = writeFile('yaml', `"${USER_A}":\n  team.name: platform\n  seats: 3\n  billable: true\nalice@example.com:\n  team.name: by-email\n`);
    const req = readJson('claude-code/tool-call/01-logs.json');
    // One record carries an e-mail too (as Claude Code sends when logged in).
    req.resourceLogs[0].scopeLogs[0].logRecords[0].attributes.push({ key: 'user.email', value: { stringValue: 'Alice@Example.com' } });
    const out = await run('logs', Batch.fromJsonObject('logs', req), { target: 'record', lookup: { path: f } });
    const recs = records('logs', out);
    assert.deepEqual(attr(recs[0].record.attributes, 'team.name'), { stringValue: 'by-email' });
    for (const { record } of recs.slice(1)) {
      assert.deepEqual(attr(record.attributes, 'team.name'), { stringValue: 'platform' });
      assert.deepEqual(attr(record.attributes, 'seats'), { intValue: '3' });
      assert.deepEqual(attr(record.attributes, 'billable'), { boolValue: true });
    }
  });

  test('records of one resource that belong to different rows get the attributes each; misses are counted', async () => {
    const a = readJson('claude-code/tool-call/01-logs.json');
    const b = readJson('claude-code/tool-call-2/01-logs.json');
    const mixed = a.resourceLogs[0].scopeLogs[0].logRecords.concat(b.resourceLogs[0].scopeLogs[0].logRecords);
    mixed.push({ attributes: [{ key: 'user.id', value: { stringValue: 'nobody' } }] });
    a.resourceLogs[0].scopeLogs = [{ scope: a.resourceLogs[0].scopeLogs[0].scope, logRecords: mixed }];
    const s = await setup('logs', { lookup: { path: csv() } });
    await s.p.consume(Batch.fromJsonObject('logs', a));
    await s.p.shutdown?.(Date.now() + 1000);
    const out = s.got[0].toJsonObject() as Json;
    assert.equal(attr(out.resourceLogs[0].resource.attributes, 'team.name'), undefined);
    const recs = records('logs', out);
    for (const { record } of recs) {
      const uid = attr(record.attributes, 'user.id').stringValue;
      const team = attr(record.attributes, 'team.name')?.stringValue;
      assert.equal(team, uid === USER_A ? 'platform' : uid === USER_B ? 'data, science' : undefined);
    }
    assert.equal(s.telemetry.total('enrich_lookup_misses'), 1);
  });

  test('reloaded when the file changes; a bad reload keeps the table and logs once', async () => {
    const f = writeFile('csv', `user.id,team.name\n${USER_A},one\n`);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const results: string[] = [];
    const lt = new LookupTable({ file: f, format: 'csv', reloadIntervalMs: 0, logger, onReload: (r) => results.push(r) });
    await lt.load();
    const team = () => lt.table.get(USER_A)?.get('team.name')?.stringValue;
    assert.equal(team(), 'one');
    await lt.poll();
    assert.deepEqual(results, [], 'unchanged: nothing reloaded');

    fs.writeFileSync(f, `user.id,team.name\n${USER_A},two-longer\n`);
    await lt.poll();
    assert.equal(team(), 'two-longer');
    assert.deepEqual(results, ['applied']);

    fs.writeFileSync(f, `user.id,team.name\n${USER_A},"unclosed\n`);
    await lt.poll();
    await lt.poll();
    await lt.poll();
    assert.equal(team(), 'two-longer', 'the previous table stays');
    assert.deepEqual(results, ['applied', 'failed']);
    const warns = lines.filter((l) => l.includes('reload failed'));
    assert.equal(warns.length, 1, 'logged once');
    assert.match(warns[0], /line 2: a quoted field is not closed/);
    assert.ok(!lines.some((l) => l.includes(USER_A)), 'no key in the log');

    fs.rmSync(f);
    await lt.poll();
    await lt.poll();
    assert.equal(team(), 'two-longer');
    assert.equal(lines.filter((l) => l.includes('reload failed')).length, 2, 'a missing file is logged once too');

    fs.writeFileSync(f, `user.id,team.name\n${USER_A},three\n`);
    await lt.poll();
    assert.equal(team(), 'three', 'a good file is taken again');
  });

  test('the processor picks up a changed file by itself (reload_interval)', async () => {
    const f = writeFile('yaml', `${USER_A}: {team.name: before}\n`);
    const s = await setup('logs', { lookup: { path: f, reload_interval: '20ms' } });
    const teamOf = async () => {
      await s.p.consume(load('claude-code/tool-call/01-logs.json', 'logs'));
      return attr((s.got.at(-1)!.toJsonObject() as Json).resourceLogs[0].resource.attributes, 'team.name')?.stringValue;
    };
    assert.equal(await teamOf(), 'before');
    fs.writeFileSync(f, `${USER_A}: {team.name: after-the-change}\n`);
    const deadline = Date.now() + 5000;
    let t = await teamOf();
    while (t !== 'after-the-change' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      t = await teamOf();
    }
    assert.equal(t, 'after-the-change');
    assert.equal(s.telemetry.total('enrich_lookup_reloads', { result: 'applied' }), 1);
    await s.p.shutdown?.(Date.now() + 1000);
  });

  test('a missing or bad file stops the start, naming the config path', async () => {
    const missing = path.join(dir, 'none.csv');
    await assert.rejects(setup('logs', { lookup: { path: missing } }, 'enrich/x'), /processors\.enrich\/x\.lookup\.path: lookup file .*none\.csv: ENOENT/);
    const bad = writeFile('csv', 'user.id\nonly-a-key\n');
    await assert.rejects(setup('logs', { lookup: { path: bad } }, 'enrich/y'), /line 1: the header needs the key column and at least one attribute column/);
  });
});

test('a batch with nothing to add keeps its protobuf bytes', async () => {
  const first = await setup('logs', { static: { 'team.name': 'platform' } });
  await first.p.consume(load('gemini-cli/noninteractive/02-logs.json', 'logs'));
  const again = Batch.fromProto('logs', first.got[0].toProto());
  const bytes = again.toProto();
  const second = await setup('logs', { static: { 'team.name': 'platform' } });
  await second.p.consume(again);
  assert.equal(second.got[0].toProto(), bytes);
});

test('CSV parsing: quotes, escaped quotes, CRLF, BOM, blank lines; errors name the line, never the key', () => {
  assert.deepEqual(
    parseCsv('\ufeffa,b\r\n"x,1","say ""hi"""\n\n"multi\nline",z\n').map((r) => r.fields),
    [['a', 'b'], ['x,1', 'say "hi"'], ['multi\nline', 'z']],
  );
  const err = (text: string) => {
    try {
      parseTable(text, 'csv');
    } catch (e) {
      assert.ok(e instanceof TableError);
      return e.message;
    }
    return 'no error';
  };
  assert.equal(err('k,t\nsecret@x.com,a,b\n'), 'line 2: 3 fields, the header has 2');
  assert.equal(err('k,t\nsecret@x.com,a\nSECRET@x.com,b\n'), 'line 3: the key of this row is already used by an earlier row');
  assert.equal(err('k,k\n'), 'line 1: column "k" appears twice');
  assert.equal(err('k,t\nab"c,d\n'), 'line 2: a quote inside an unquoted field');
  assert.equal(err(''), 'the file is empty: it needs a header row');
  const yamlErr = (text: string) => {
    try {
      parseTable(text, 'yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.equal(yamlErr('- a\n- b\n'), 'expected a map of key -> attributes at the top');
  assert.equal(yamlErr('secret@x.com: [1]\n'), 'entry 1: expected a map of attribute -> value');
  assert.equal(yamlErr('secret@x.com: {team: [1]}\n'), 'entry 1: attribute "team" must be a string, number or boolean');
  assert.match(yamlErr('a: {b: c}\na: {b: d}\n'), /^not valid YAML/);
});

test('config: {} is valid; mistakes name their YAML path', () => {
  const empty = configOf({});
  assert.deepEqual(empty.issues, []);
  assert.equal(empty.cfg!.target, 'resource');
  assert.deepEqual(empty.cfg!.lookup.keys, ['user.email', 'user.account_uuid', 'user.id']);
  const bad = configOf({ target: 'span', static: { a: [1] }, from_metadata: { 'x-team': '' }, lookup: { path: 'teams.txt', reload_interval: 'often' } });
  assert.deepEqual(bad.issues.map((i) => i.path.join('.')).sort(), [
    'processors.enrich.from_metadata.x-team',
    'processors.enrich.lookup.reload_interval',
    'processors.enrich.static.a',
    'processors.enrich.target',
  ]);
  const ext = configOf({ lookup: { path: 'teams.txt' } });
  assert.deepEqual(ext.issues.map((i) => i.path.join('.')), ['processors.enrich.lookup.path']);
  assert.deepEqual(configOf({ lookup: { path: 'teams.txt', format: 'csv' } }).issues, []);
});

test('the README examples are valid configs', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '../../../processors/enrich/README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]) as Json);
  let n = 0;
  for (const b of blocks)
    for (const [id, cfg] of Object.entries(b.processors ?? {})) {
      n++;
      assert.match(id, /^enrich(\/|$)/);
      assert.deepEqual(configOf(cfg).issues.filter((i) => i.severity === 'error'), [], id);
    }
  assert.ok(n > 0);
  // The lookup file examples parse.
  const csvBlock = /```csv\n([\s\S]*?)```/.exec(readme);
  assert.ok(csvBlock);
  assert.ok(parseTable(csvBlock[1], 'csv').size > 0);
  const yamlTable = /```yaml\n# teams\.yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(yamlTable);
  assert.ok(parseTable(yamlTable[1], 'yaml').size > 0);
});

test('records that gain or overwrite attributes are sent with their received bytes for everything else', async () => {
  // A field OTLP does not define rides on every log record: it survives only where a record was not encoded anew.
  const input = withUnknownFieldInRecords(fs.readFileSync(path.join(FIXTURES_DIR, 'claude-code/protobuf/01-logs.pb')));
  const n = countUnknownFields(input);
  assert.ok(n >= 3);
  const sendOf = async (raw: unknown) => {
    const s = await setup('logs', raw);
    await s.p.consume(Batch.fromProto('logs', input));
    return { sent: Buffer.from(s.got[0].toProto()), json: s.got[0].toJsonObject() as Json };
  };
  const added = await sendOf({ target: 'record', static: { team: 'platform' } });
  assert.equal(countUnknownFields(added.sent), n, 'every record kept its bytes');
  for (const r of records('logs', added.json)) assert.deepEqual(attr(r.record.attributes, 'team'), { stringValue: 'platform' });
  // Claude Code puts terminal.type on every record: overwriting it changes each one.
  const replaced = await sendOf({ target: 'record', overwrite: true, static: { 'terminal.type': 'changed' } });
  assert.equal(countUnknownFields(replaced.sent), n, 'every record kept its bytes for the other fields');
  for (const r of records('logs', replaced.json)) {
    assert.deepEqual(attr(r.record.attributes, 'terminal.type'), { stringValue: 'changed' });
    assert.equal(r.record.attributes.filter((a: Json) => a.key === 'terminal.type').length, 1, 'the old value is not sent along');
  }
});

test('data points that gain attributes are sent with them: their metric is encoded anew', async () => {
  const input = withUnknownFieldInRecords(fs.readFileSync(path.join(FIXTURES_DIR, 'claude-code/protobuf/02-metrics.pb')));
  const s = await setup('metrics', { target: 'record', static: { team: 'platform' } });
  await s.p.consume(Batch.fromProto('metrics', input));
  const sent = Buffer.from(s.got[0].toProto());
  assert.equal(countUnknownFields(sent), 0, 'no metric kept its bytes');
  const points = records('metrics', Batch.fromProto('metrics', sent).toJsonObject() as Json);
  assert.ok(points.length > 0);
  for (const p of points) assert.deepEqual(attr(p.record.attributes, 'team'), { stringValue: 'platform' });
});
