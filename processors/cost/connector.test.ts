// The cost connector on events priced by the cost processor: metric names and shapes
// like Claude Code's, totals equal to the sum of the event costs, Codex token usage
// by type with no token counted twice, configured attributes, contiguous DELTA intervals.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { costProcessor, type CostConfig } from './index';
import { costConnector } from './connector';
import { Batch } from '../../src/otlp/batch';
import { Telemetry } from '../../src/telemetry/metrics';
import { createLogger } from '../../src/telemetry/logger';
import { FIXTURES_DIR } from '../../test/helpers/fixtures';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const logger = createLogger({ level: 'silent' });

function setup(connectorConfig: object = {}) {
  const telemetry = new Telemetry();
  const metrics: Batch[] = [];
  const ccfg = costConnector.schema.check(connectorConfig, ['connectors', 'cost'], { issues: [] })!;
  const conn = costConnector.create(ccfg, { id: 'cost', logger, telemetry, from: 'logs', to: 'metrics' }, new Map([['metrics', { consume: async (b: Batch) => void metrics.push(b) }]]));
  const pcfg = costProcessor.schema.check({}, ['processors', 'cost'], { issues: [] }) as CostConfig;
  const priced: Batch[] = [];
  const proc = costProcessor.create(pcfg, { id: 'cost', logger, telemetry, signal: 'logs', pipeline: 'logs' }, {
    consume: async (b) => {
      priced.push(b);
      await conn.consume(b.fork());
    },
  });
  return { proc, conn, metrics, priced, telemetry };
}

const load = (name: string) => Batch.fromJsonObject('logs', JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, name), 'utf8')));

function metricsOf(batches: Batch[]): Json[] {
  const out: Json[] = [];
  for (const b of batches)
    for (const rm of b.toJsonObject().resourceMetrics as Json[])
      for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.push({ ...m, resource: rm.resource, scope: sm.scope });
  return out;
}
const pointAttrs = (p: Json) => Object.fromEntries(p.attributes.map((kv: Json) => [kv.key, Object.values(kv.value)[0]]));

function eventCostNanos(batches: Batch[]): number {
  let sum = 0;
  for (const b of batches)
    for (const rl of b.toJsonObject().resourceLogs as Json[])
      for (const sl of rl.scopeLogs)
        for (const lr of sl.logRecords) {
          const c = (lr.attributes ?? []).find((kv: Json) => kv.key === 'cost_usd');
          if (c) sum += Math.round(c.value.doubleValue * 1e9);
        }
  return sum;
}

test('codex.cost.usage and codex.token.usage from the priced Codex events', async () => {
  const { proc, metrics, priced, telemetry } = setup();
  await proc.consume(load('codex/exec/04-logs.json'));
  const ms = metricsOf(metrics);
  assert.deepEqual(ms.map((m) => m.name).sort(), ['codex.cost.usage', 'codex.token.usage']);
  const cost = ms.find((m) => m.name === 'codex.cost.usage')!;
  assert.equal(cost.unit, 'USD');
  assert.equal(cost.sum.aggregationTemporality, 1);
  assert.equal(cost.sum.isMonotonic, true);
  assert.equal(cost.sum.dataPoints.length, 1);
  const p = cost.sum.dataPoints[0];
  assert.deepEqual(pointAttrs(p), { model: 'gpt-5-codex' });
  // 1435 + 1446.25 µ$, equal to the sum of the events' cost_usd.
  assert.equal(p.asDouble, 0.00288125);
  assert.equal(Math.round(p.asDouble * 1e9), eventCostNanos(priced));
  assert.ok(BigInt(p.startTimeUnixNano) > 0n && BigInt(p.startTimeUnixNano) < BigInt(p.timeUnixNano));
  // The resource of the events (service.name codex_exec) carries over.
  assert.ok(cost.resource.attributes.some((kv: Json) => kv.key === 'service.name' && kv.value.stringValue === 'codex_exec'));

  // Tokens as Claude Code counts them: input without the cached part, output with reasoning.
  // (2002 - 1500) + (2003 - 1500) = 1005; output 62 + 63 = 125; cacheRead 3000; cacheCreation 0.
  const tokens = ms.find((m) => m.name === 'codex.token.usage')!;
  assert.equal(tokens.unit, 'tokens');
  const byType = Object.fromEntries(tokens.sum.dataPoints.map((d: Json) => [pointAttrs(d).type, d.asDouble]));
  assert.deepEqual(byType, { input: 1005, output: 125, cacheRead: 3000, cacheCreation: 0 });
  // The types add up to Codex's own totals (its turn span: 4005 input incl. cached, 125 output) with nothing twice.
  assert.equal(byType.input + byType.cacheRead + byType.cacheCreation, 4005);
  assert.equal(telemetry.total('connector_routed_items', { component: 'cost' }), 5);
  // The batch encodes to protobuf for the OTLP exporters (int64 times as decimal strings) and reads back the same.
  assert.deepEqual(Batch.fromProto('metrics', metrics[0].toProto()).toJsonObject(), metrics[0].toJsonObject());
});

test('gemini_cli.cost.usage per model; no token metric (Gemini CLI sends its own); unpriced events add no cost', async () => {
  const { proc, metrics, priced } = setup();
  await proc.consume(load('gemini-cli/priced-model/02-logs.json'));
  await proc.consume(load('gemini-cli/noninteractive/02-logs.json'));
  const ms = metricsOf(metrics);
  assert.deepEqual(ms.map((m) => m.name), ['gemini_cli.cost.usage'], 'the unknown-model batch makes no metric');
  const p = ms[0].sum.dataPoints[0];
  assert.deepEqual(pointAttrs(p), { model: 'gemini-2.5-flash' });
  assert.equal(ms[0].unit, 'USD');
  // 715.9 + 638.7 µ$
  assert.equal(p.asDouble, 0.0013546);
  assert.equal(Math.round(p.asDouble * 1e9), eventCostNanos(priced));
});

test('configured attributes go on the points; each series gets its own point', async () => {
  const { proc, metrics } = setup({ attributes: ['session.id', 'role', 'absent.key'] });
  await proc.consume(load('gemini-cli/priced-model/02-logs.json'));
  const points = metricsOf(metrics)[0].sum.dataPoints.map(pointAttrs);
  assert.equal(points.length, 1);
  assert.deepEqual(Object.keys(points[0]).sort(), ['model', 'role', 'session.id']);
  assert.equal(points[0].role, 'main');
});

test('successive points of a series are contiguous DELTA intervals', async () => {
  const { proc, metrics } = setup();
  await proc.consume(load('codex/exec/04-logs.json'));
  await new Promise((r) => setTimeout(r, 5));
  await proc.consume(load('codex/exec/04-logs.json'));
  const pts = metricsOf(metrics).filter((m) => m.name === 'codex.cost.usage').map((m) => m.sum.dataPoints[0]);
  assert.equal(pts.length, 2);
  assert.equal(pts[1].startTimeUnixNano, pts[0].timeUnixNano);
  assert.ok(BigInt(pts[1].timeUnixNano) > BigInt(pts[1].startTimeUnixNano));
});

test('Claude Code events make no metric (it sends claude_code.cost.usage itself)', async () => {
  const { conn, metrics } = setup();
  await conn.consume(load('claude-code/tool-call/01-logs.json'));
  assert.equal(metrics.length, 0);
});

test('the connector rejects unknown settings', () => {
  const ctx = { issues: [] as { path: (string | number)[]; message: string }[] };
  costConnector.schema.check({ attributes: 'session.id', extra: 1 }, ['connectors', 'cost'], ctx as never);
  assert.deepEqual(ctx.issues.map((i) => i.path.join('.')).sort(), ['connectors.cost.attributes', 'connectors.cost.extra']);
});
