// The Grafana dashboard (dashboards/agentrelay-agents.json) queries only series that
// exist. Every metric name in its PromQL is checked against the names a
// Prometheus-compatible store (Mimir, Prometheus) gives what really arrives:
//  - the agents' own metrics, read from every recorded request in ../shared/fixtures/agents;
//  - the metrics the relay derives, made by running the real cost processor and cost
//    connector over the recorded Codex and Gemini CLI events;
//  - the relay's own counters: the built-in ones and every ctx.telemetry.counter(name)
//    in the source tree (agentrelay_<name>_total).
// Label names in selectors and `by (...)` are checked against the attributes of the
// metrics the expression reads; the Loki panels' labels and event names against the
// recorded events.
//
// OTLP -> Prometheus naming, as Prometheus' and Mimir's OTLP translation does it (with
// suffixes, the default):
//  1. the name's characters outside [a-zA-Z0-9_:] split it into words joined by "_";
//  2. the unit, if any, without {annotations}, is spelled out (s -> seconds, ms ->
//     milliseconds, By -> bytes, ...; others such as USD or tokens stay as they are;
//     "a/b" becomes a_per_b) and appended unless the name already has that word;
//  3. a monotonic sum (a counter) drops any word "total" and ends in _total; a gauge
//     with unit "1" ends in _ratio;
//  4. a histogram is the series _bucket, _sum and _count (a summary: _sum, _count and the name).
// Attribute keys become label names the same way (user.id -> user_id); service.name is `job`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { listFixtures } from '../helpers/fixtures';
import { Batch } from '../../src/otlp/batch';
import { loadConfigText } from '../../src/config/load';
import { Graph } from '../../src/pipeline/graph';
import { Telemetry } from '../../src/telemetry/metrics';
import { s } from '../../src/config/schema';
import type { ExporterFactory } from '../../src/pipeline/component';
import type { Metric, MetricsRequest, LogsRequest } from '../../src/otlp/model';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROOT = path.resolve(__dirname, '../../..');
const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'dashboards/agentrelay-agents.json'), 'utf8')) as Json;

const UNIT_WORDS: Record<string, string> = {
  d: 'days', h: 'hours', min: 'minutes', s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes', TiBy: 'tibibytes', KBy: 'kilobytes', MBy: 'megabytes',
  GBy: 'gigabytes', TBy: 'terabytes', m: 'meters', V: 'volts', A: 'amperes', J: 'joules', W: 'watts', g: 'grams',
  Cel: 'celsius', Hz: 'hertz', '%': 'percent',
};
const PER_WORDS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

const words = (x: string) => x.split(/[^a-zA-Z0-9_:]+/).filter(Boolean);
export const labelName = (key: string) => words(key).join('_');

/** Prometheus series names of one OTLP metric. */
function promNames(m: Metric): string[] {
  const name = words(m.name ?? '');
  const unit = (m.unit ?? '').replace(/\{[^}]*\}/g, '').trim();
  const monotonicSum = !!m.sum && !!m.sum.isMonotonic;
  if (unit && unit !== '1') {
    const [main, per] = unit.split('/');
    const mainWord = main ? words(UNIT_WORDS[main] ?? main).join('_') : '';
    if (mainWord && !name.includes(mainWord)) name.push(mainWord);
    if (per) {
      const perWord = words(PER_WORDS[per] ?? per).join('_');
      if (!name.includes(perWord)) name.push('per', perWord);
    }
  }
  let base: string[] = name;
  if (monotonicSum) base = [...name.filter((w) => w !== 'total'), 'total'];
  else if (m.gauge && unit === '1' && !name.includes('ratio')) base = [...name, 'ratio'];
  const b = base.join('_');
  if (m.histogram || m.exponentialHistogram) return [`${b}_bucket`, `${b}_sum`, `${b}_count`];
  if (m.summary) return [b, `${b}_sum`, `${b}_count`];
  return [b];
}

/** Known series name -> label names it can carry. */
const series = new Map<string, Set<string>>();
/** Event names and attribute keys of recorded log records, for the Loki panels. */
const events = new Set<string>();
const logKeys = new Set<string>();
const logResourceKeys = new Set<string>();
const serviceNames = new Set<string>();

function addMetrics(req: MetricsRequest): void {
  for (const rm of req.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? [])
      for (const m of sm.metrics ?? []) {
        const kind = (['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] as const).find((k) => m[k]);
        const labels = new Set(['job', 'instance']);
        for (const p of kind ? m[kind]!.dataPoints ?? [] : []) for (const kv of p.attributes ?? []) labels.add(labelName(kv.key));
        for (const n of promNames(m)) {
          const set = series.get(n) ?? new Set<string>();
          for (const l of labels) set.add(l);
          if (n.endsWith('_bucket')) set.add('le');
          series.set(n, set);
        }
      }
  }
}

function addLogs(req: LogsRequest): void {
  for (const rl of req.resourceLogs ?? []) {
    for (const kv of rl.resource?.attributes ?? []) {
      logResourceKeys.add(labelName(kv.key));
      if (kv.key === 'service.name' && kv.value?.stringValue) serviceNames.add(kv.value.stringValue);
    }
    for (const sl of rl.scopeLogs ?? [])
      for (const lr of sl.logRecords ?? [])
        for (const kv of lr.attributes ?? []) {
          logKeys.add(labelName(kv.key));
          if (kv.key === 'event.name' && kv.value?.stringValue) events.add(kv.value.stringValue);
        }
  }
}

/** The metrics the cost processor and connector make from recorded events, run for real. */
async function derivedMetrics(logs: Batch[]): Promise<MetricsRequest[]> {
  const loaded = loadConfigText(
    `
receivers: {otlp: {}}
processors: {cost: {}}
connectors: {cost: {}}
exporters: {debug: {}}
service:
  pipelines:
    logs: {receivers: [otlp], processors: [cost], exporters: [cost]}
    metrics: {receivers: [cost], exporters: [debug]}
`,
    {},
  );
  assert.deepEqual(loaded.errors, [], 'the cost processor and connector load with their defaults');
  const out: MetricsRequest[] = [];
  const capture: ExporterFactory = {
    type: 'capture',
    schema: s.custom('any', (v) => v),
    signals: ['metrics'],
    create: () => ({ consume: async (b) => void out.push(b.read() as MetricsRequest) }),
  };
  const cfg = loaded.config!;
  cfg.exporters = new Map([['debug', { id: 'debug', factory: capture, config: {} }]]);
  const telemetry = new Telemetry();
  const graph = new Graph(cfg, pino({ level: 'silent' }), telemetry, { receivers: false });
  await graph.start();
  for (const b of logs) await graph.entry('logs')!.consume(b);
  await graph.shutdown(Date.now() + 5000);
  await telemetry.shutdown();
  return out;
}

/**
 * agentrelay_<name>_total for the built-in counters and every telemetry.counter(name) in the
 * tree, with the label names their files pass (keys of the attribute objects they build).
 */
function relayCounters(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const generic = ['job', 'instance', 'component', 'signal', 'reason', 'pipeline', 'transport'];
  const metricsSrc = fs.readFileSync(path.join(ROOT, 'src/telemetry/metrics.ts'), 'utf8');
  const desc = /const DESCRIPTIONS[^{]*\{([\s\S]*?)\n\};/.exec(metricsSrc)![1];
  for (const m of desc.matchAll(/^\s*(\w+):/gm)) out.set(`agentrelay_${m[1]}_total`, new Set(generic));
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : []));
  for (const f of [...walk(path.join(ROOT, 'src')), ...walk(path.join(ROOT, 'processors'))]) {
    const text = fs.readFileSync(f, 'utf8');
    const names = [...text.matchAll(/telemetry\.counter\(\s*'([a-z0-9_]+)'/g)].map((m) => m[1]);
    if (names.length === 0) continue;
    const labels = new Set(generic);
    const objects = [...text.matchAll(/\{([^{}]*(?:component|\.\.\.base)[^{}]*)\}/g), ...text.matchAll(/\(\s*[\w.]+\s*,\s*\{([^{}]*)\}\s*\)/g)];
    for (const obj of objects)
      for (const k of obj[1].split(',')) {
        const key = /^\s*(?:\.\.\.)?(\w+)\s*(?::|$)/.exec(k)?.[1];
        if (key && key !== 'base') labels.add(key);
      }
    for (const n of names) out.set(`agentrelay_${n}_total`, labels);
  }
  return out;
}

const promTargets: { panel: string; expr: string }[] = [];
const lokiTargets: { panel: string; expr: string }[] = [];

before(async () => {
  const logs: Batch[] = [];
  for (const f of listFixtures()) {
    const bytes = fs.readFileSync(f.file);
    const batch = f.format === 'json' ? Batch.fromJsonObject(f.signal, JSON.parse(bytes.toString('utf8'))) : Batch.fromProto(f.signal, bytes);
    if (f.signal === 'metrics') addMetrics(batch.read() as MetricsRequest);
    if (f.signal === 'logs') {
      addLogs(batch.read() as LogsRequest);
      logs.push(batch);
    }
  }
  for (const req of await derivedMetrics(logs)) addMetrics(req);
  for (const [n, labels] of relayCounters()) series.set(n, labels);
  for (const p of dashboard.panels as Json[])
    for (const t of p.targets ?? []) (t.datasource?.type === 'loki' ? lokiTargets : promTargets).push({ panel: p.title, expr: t.expr });
});

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/** Metric names, selector label names and grouping label names of a PromQL expression. */
function parsePromQL(expr: string): { metrics: string[]; selectorLabels: string[]; groupLabels: string[]; made: string[] } {
  const e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const selectorLabels: string[] = [];
  const groupLabels: string[] = [];
  for (const m of e.matchAll(/\{([^}]*)\}/g)) for (const l of m[1].matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) selectorLabels.push(l[1]);
  for (const m of e.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    for (const l of m[1].split(',').map((x) => x.trim()).filter(Boolean)) groupLabels.push(l);
  // label_replace(v, "dst", ...) makes a label.
  const made = [...expr.matchAll(/label_replace\([^,]+,\s*"(\w+)"/g)].map((m) => m[1]);
  const bare = e
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const metrics: string[] = [];
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2]) continue; // a function
    if (KEYWORDS.has(m[1].toLowerCase())) continue;
    metrics.push(m[1]);
  }
  return { metrics, selectorLabels, groupLabels, made };
}

test('the dashboard is a Grafana dashboard: data source variables, unique ids, panels on the grid without overlap', () => {
  const vars = (dashboard.templating.list as Json[]).map((v) => `${v.name}:${v.type}:${v.query}`);
  assert.deepEqual(vars, ['datasource:datasource:prometheus', 'loki:datasource:loki']);
  const ids = (dashboard.panels as Json[]).map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  const cells = new Set<string>();
  for (const p of dashboard.panels as Json[]) {
    const g = p.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title}: within 24 columns`);
    for (let x = g.x; x < g.x + g.w; x++)
      for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    if (p.type === 'row') continue;
    assert.ok(['${datasource}', '${loki}'].includes(p.datasource.uid), `${p.title}: uses a data source variable`);
    assert.ok(p.targets.length > 0 && p.targets.every((t: Json) => t.expr && t.datasource.uid === p.datasource.uid));
  }
});

test('every metric the dashboard queries is one the agents or the relay emit, as Prometheus names it', () => {
  assert.ok(series.has('claude_code_cost_usage_USD_total'), 'the naming rule gives the well-known Claude Code cost series');
  assert.ok(series.has('claude_code_active_time_seconds_total'), '"total" moves after the unit');
  assert.ok(series.has('gemini_cli_api_request_latency_milliseconds_bucket'));
  assert.ok(series.has('codex_cost_usage_USD_total') && series.has('gemini_cli_cost_usage_USD_total') && series.has('codex_token_usage_tokens_total'), 'the cost connector made its metrics');
  const used = new Set<string>();
  for (const { panel, expr } of promTargets) {
    assert.equal((expr.match(/\(/g) ?? []).length, (expr.match(/\)/g) ?? []).length, `${panel}: balanced parentheses`);
    assert.equal((expr.match(/\{/g) ?? []).length, (expr.match(/\}/g) ?? []).length, `${panel}: balanced braces`);
    const { metrics, selectorLabels, groupLabels, made } = parsePromQL(expr);
    assert.ok(metrics.length > 0, `${panel}: no metric found in ${expr}`);
    const labels = new Set<string>(made);
    for (const m of metrics) {
      assert.ok(series.has(m), `${panel}: ${m} is not a series anything emits (${expr})`);
      used.add(m);
      for (const l of series.get(m)!) labels.add(l);
    }
    for (const l of [...selectorLabels, ...groupLabels].filter((x) => x !== 'le' || metrics.some((m) => m.endsWith('_bucket'))))
      assert.ok(labels.has(l), `${panel}: label ${l} is on none of ${metrics.join(', ')}`);
  }
  // All three agents and the relay are covered.
  for (const prefix of ['claude_code_', 'codex_', 'gemini_cli_', 'agentrelay_'])
    assert.ok([...used].some((m) => m.startsWith(prefix)), `no panel reads a ${prefix} metric`);
  for (const m of ['agentrelay_redaction_secrets_total', 'agentrelay_sampling_decisions_total', 'agentrelay_config_reloads_total'])
    assert.ok(used.has(m), `${m} has a panel`);
});

test('the topics of the issue each have a panel', () => {
  const titles = (dashboard.panels as Json[]).map((p) => p.title as string);
  for (const t of ['Cost', 'Cost by agent', 'Cost by model', 'Cost by user', 'Tokens by type and agent', 'Tokens by model', 'Tokens by user', 'Sessions', 'Active users', 'Tool calls by tool', 'Tool decisions (Gemini CLI)', 'Tool decisions (Claude Code, Codex CLI)', 'API error rate', 'API latency', 'Redactions', 'Sampling'])
    assert.ok(titles.includes(t), `a panel "${t}"`);
});

test('the Loki panels use labels, fields and event names the agents send', () => {
  assert.ok(lokiTargets.length > 0);
  for (const { panel, expr } of lokiTargets) {
    const stream = /\{([^}]*)\}/.exec(expr)![1];
    for (const m of stream.matchAll(/(\w+)\s*(=~|=)\s*"([^"]*)"/g)) {
      assert.ok(logResourceKeys.has(m[1]), `${panel}: stream label ${m[1]} is not a resource attribute`);
      if (m[1] === 'service_name') {
        const re = new RegExp(`^(?:${m[3]})$`);
        assert.ok([...serviceNames].some((n) => re.test(n)), `${panel}: ${m[3]} matches no agent's service.name`);
      }
    }
    const pipeline = expr.slice(expr.indexOf('}') + 1);
    for (const m of pipeline.matchAll(/\|\s*(\w+)\s*(=~|=)\s*"([^"]*)"/g)) {
      assert.ok(logKeys.has(m[1]), `${panel}: ${m[1]} is not an event attribute`);
      if (m[1] === 'event_name')
        for (const alt of m[3].split('|')) assert.ok(events.has(alt), `${panel}: no agent sends the event ${alt}`);
    }
    for (const m of pipeline.matchAll(/unwrap\s+(\w+)/g)) assert.ok(logKeys.has(m[1]), `${panel}: unwrap ${m[1]}`);
    for (const m of expr.matchAll(/\bby\s*\(([^)]*)\)/g))
      for (const l of m[1].split(',').map((x) => x.trim())) assert.ok(logKeys.has(l), `${panel}: by ${l}`);
  }
});
