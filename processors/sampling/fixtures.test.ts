// The recorded fixtures of all three agents through the default rules: tool decisions
// (and errors) come out intact at any percentage, and the prompt cycles the agents
// actually produced are kept or dropped whole, logs and spans alike, at every
// percentage from 1 to 99.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Batch } from '../../src/otlp/batch';
import { listFixtures, type Fixture } from '../../test/helpers/fixtures';
import { harness, itemsOf, jsonOf, type Item, type Json } from './harness';

/** The fixture requests of one recorded run, parsed once, in recording order. */
interface Run {
  dir: string;
  logs: { f: Fixture; json?: Json; bytes?: Buffer }[];
  traces: { f: Fixture; json?: Json; bytes?: Buffer }[];
}

function runs(): Run[] {
  const byDir = new Map<string, Run>();
  for (const f of listFixtures()) {
    if (f.signal === 'metrics') continue;
    const dir = f.name.slice(0, f.name.lastIndexOf('/'));
    let r = byDir.get(dir);
    if (!r) byDir.set(dir, (r = { dir, logs: [], traces: [] }));
    const bytes = fs.readFileSync(f.file);
    const entry = f.format === 'json' ? { f, json: JSON.parse(bytes.toString('utf8')) as Json } : { f, bytes };
    (f.signal === 'logs' ? r.logs : r.traces).push(entry);
  }
  return [...byDir.values()];
}

const batchOf = (e: Run['logs'][number]) =>
  e.json ? Batch.fromJsonObject(e.f.signal, e.json) : Batch.fromProto(e.f.signal, e.bytes!);

const inputOf = (entries: Run['logs']) => itemsOf(entries.map((e) => batchOf(e).toJsonObject() as Json));

async function sample(run: Run, config: unknown): Promise<{ logs: Item[]; spans: Item[] }> {
  const hl = harness(config, 'logs');
  const ht = harness(config, 'traces');
  for (const e of run.logs) await hl.consume(batchOf(e));
  for (const e of run.traces) await ht.consume(batchOf(e));
  return { logs: itemsOf(jsonOf(hl.out)), spans: itemsOf(jsonOf(ht.out)) };
}

const eventOf = (x: Item) => String(x.attrs['event.name'] ?? '');

/** Tool decisions of the three agents, by the names the fixtures' SCHEMA.txt give. */
const isToolDecision = (x: Item) => ['tool_decision', 'codex.tool_decision', 'gemini_cli.tool_call'].includes(eventOf(x));

/** What the default keep rules must keep, written out independently of them. */
function mustKeep(x: Item): boolean {
  if (isToolDecision(x)) return true;
  if (['api_error', 'gemini_cli.api_error', 'claude_code.api_error'].includes(eventOf(x))) return true;
  if (eventOf(x) === 'codex.api_request') {
    const st = Number(x.attrs['http.response.status_code']);
    if (x.attrs['error.message'] !== undefined || st < 200 || st >= 300) return true;
  }
  if ((x.record.severityNumber ?? 0) >= 13) return true;
  if (x.record.status?.code === 2 || x.record.status?.code === 'STATUS_CODE_ERROR') return true;
  return false;
}

/** An item's identity across input and output: the whole record without what sampling adds. */
function identity(x: Item): string {
  const { traceState: _ts, ...rest } = x.record;
  return JSON.stringify({ ...rest, attributes: (rest.attributes ?? []).filter((kv: Json) => !String(kv.key).startsWith('sampling.')) });
}

test('every fixture run: at 0 % exactly the tool decisions and errors survive, byte-for-byte intact', async () => {
  const seen: Record<string, number> = { 'claude-code': 0, codex: 0, 'gemini-cli': 0 };
  for (const run of runs()) {
    const inLogs = inputOf(run.logs);
    const inSpans = inputOf(run.traces);
    const { logs, spans } = await sample(run, { sampling_percentage: 0 });
    const want = [...inLogs, ...inSpans].filter(mustKeep);
    assert.deepEqual([...logs, ...spans].map((x) => x.record), want.map((x) => x.record), `${run.dir}: kept exactly the must-keep records, unchanged`);
    seen[run.dir.split('/')[0]] += want.filter(isToolDecision).length;
  }
  for (const [agent, n] of Object.entries(seen)) assert.ok(n > 0, `${agent}: tool decisions in the fixtures (${n})`);
});

test('every fixture run at 1 %, 10 % and 50 %: all tool decisions present and unchanged', async () => {
  for (const run of runs()) {
    const tools = inputOf(run.logs).filter(isToolDecision);
    for (const pct of [1, 10, 50]) {
      const { logs } = await sample(run, { sampling_percentage: pct });
      const out = logs.filter(isToolDecision);
      assert.deepEqual(out.map((x) => x.record), tools.map((x) => x.record), `${run.dir} at ${pct} %`);
    }
  }
});

/**
 * The prompt cycles each run really has, from the fixtures' NOTES and SCHEMA:
 * returns the cycle of an ordinary (not must-keep) item, or undefined to skip it.
 */
function cycleOf(dir: string, x: Item, isSpan: boolean): string | undefined {
  const a = x.attrs;
  if (dir.startsWith('claude-code')) return String(a['prompt.id'] ?? `session ${a['session.id']}`);
  if (dir.startsWith('gemini-cli')) {
    // Non-interactive runs are one prompt (its id is the session id): one cycle, logs and spans.
    if (dir !== 'gemini-cli/interactive') return 'the run';
    // Interactive: the user prompt (its trace a999c461...), the session summary call (its
    // trace 5c982b7e...), and the session-level rest (config, slash command, quit).
    if (x.record.traceId === 'a999c461776fa69b4272453981db2b69' || String(a.prompt_id ?? '').endsWith('########0')) return 'prompt 0';
    if (x.record.traceId === '5c982b7e48a4e85bfb02efde4e9d0dfa' || a.prompt_id === 'session-summary-generation') return 'summary';
    return 'session';
  }
  // Codex: the conversation for log records; for spans, the trace, and the turn traces
  // that carry conversation.id in their first batch go with the conversation's logs.
  if (!isSpan) return a['conversation.id'] === undefined ? undefined : `conv ${a['conversation.id']}`;
  if (x.record.traceId === '96f78f5e7345380a21e39b0879514337') return 'conv 01a2092d-1937-7af0-84e5-6e2871d3d287';
  if (x.record.traceId === 'f392ecf64f34a5f0250a049cff7b686e') return 'conv 01a2092d-2305-7fc1-84c4-9399e9e21f70';
  return `trace ${x.record.traceId}`;
}

test('every fixture run, 1 % to 99 %: each real prompt cycle is kept or dropped whole, logs and spans together', async () => {
  for (const run of runs()) {
    const inLogs = inputOf(run.logs);
    const inSpans = inputOf(run.traces);
    const sent = [...inLogs.map((x) => ({ x, span: false })), ...inSpans.map((x) => ({ x, span: true }))].filter(({ x }) => !mustKeep(x));
    const cycles = new Set(sent.map(({ x, span }) => cycleOf(run.dir, x, span)).filter(Boolean));
    let keptSome = 0;
    let droppedSome = 0;
    for (let pct = 1; pct < 100; pct += 7) {
      const { logs, spans } = await sample(run, { sampling_percentage: pct, drop_defaults: false });
      const kept = new Set([...logs, ...spans].map(identity));
      const byCycle = new Map<string, { kept: number; dropped: number }>();
      for (const { x, span } of sent) {
        const c = cycleOf(run.dir, x, span);
        if (c === undefined) continue;
        const e = byCycle.get(c) ?? byCycle.set(c, { kept: 0, dropped: 0 }).get(c)!;
        if (kept.has(identity(x))) e.kept++;
        else e.dropped++;
      }
      for (const [c, e] of byCycle) {
        assert.ok(e.kept === 0 || e.dropped === 0, `${run.dir} at ${pct} %: cycle "${c}" partly kept (${e.kept} kept, ${e.dropped} dropped)`);
        if (e.kept) keptSome++;
        else droppedSome++;
      }
    }
    assert.ok(cycles.size > 0, run.dir);
    assert.ok(keptSome > 0 && droppedSome > 0, `${run.dir}: the sweep both kept and dropped cycles`);
  }
});
