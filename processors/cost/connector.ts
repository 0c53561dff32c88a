// cost connector (logs -> metrics): turns the events the cost processor priced
// into metrics shaped like Claude Code's, so one query covers the three agents:
//   codex.cost.usage, gemini_cli.cost.usage   monotonic Sum, DELTA, unit USD, the sum of cost_usd
//   codex.token.usage                         monotonic Sum, DELTA, `type` = input | output | cacheRead | cacheCreation
// Points carry `model` plus the configured `attributes` of the event, under the
// event's resource. Claude Code and Gemini CLI send their own token metric, and
// Claude Code its own cost metric, so none is made for them. Money is summed in
// integer nano-dollars, the precision of cost_usd, so a point equals the sum of its events.
import { s, type SchemaType } from '../../src/config/schema';
import type { ConnectorFactory } from '../../src/pipeline/component';
import { FanOut } from '../../src/pipeline/fanout';
import { Batch } from '../../src/otlp/batch';
import type { AnyValue, DataPoint, KeyValue, LogsRequest, Metric, MetricsRequest, Resource } from '../../src/otlp/model';
import { findAttribute, int64Value } from '../../src/conditions';
import { agentOf, usageOf, type Agent } from './usage';
import { usdToNanos } from './money';
import { COST_USD } from './names';

const schema = s.object({
  /** Event attributes copied onto every point (when present), beside `model`. */
  attributes: s.list(s.string({ nonEmpty: true }), { default: [] }),
});

type Config = SchemaType<typeof schema>;

const COST_METRIC: Partial<Record<Agent, { name: string; description: string }>> = {
  codex: { name: 'codex.cost.usage', description: 'Cost of the Codex session, priced by agentrelay' },
  gemini_cli: { name: 'gemini_cli.cost.usage', description: 'Cost of the Gemini CLI session, priced by agentrelay' },
};
const TOKEN_TYPES = ['input', 'output', 'cacheRead', 'cacheCreation'] as const;
const SCOPE = { name: 'agentrelay/cost', attributes: [] as KeyValue[] };
/** Series whose last interval end is remembered; past this the memory starts over (a fresh start time, no wrong sums). */
const SERIES_LIMIT = 50_000;

const hasOwn = Object.prototype.hasOwnProperty;

function usdOf(v: AnyValue | null | undefined): number | undefined {
  if (!v) return undefined;
  if (hasOwn.call(v, 'doubleValue') && typeof v.doubleValue === 'number' && Number.isFinite(v.doubleValue)) return v.doubleValue;
  if (hasOwn.call(v, 'intValue') && v.intValue != null) {
    const n = int64Value(v.intValue);
    return typeof n === 'number' ? n : undefined;
  }
  if (hasOwn.call(v, 'stringValue') && typeof v.stringValue === 'string' && /^\d+(\.\d+)?$/.test(v.stringValue)) return Number(v.stringValue);
  return undefined;
}

function timeOf(t: unknown): bigint {
  const v = int64Value(t as never);
  if (v === undefined) return 0n;
  try {
    return BigInt(v);
  } catch {
    return 0n;
  }
}

interface Series {
  metric: string;
  attrs: KeyValue[];
  /** Nano-dollars for a cost series, tokens for a token series. */
  total: bigint;
  firstSeen: bigint;
}

export const costConnector: ConnectorFactory<Config> = {
  type: 'cost',
  schema,
  pairs: [['logs', 'metrics']],
  create(config, ctx, outputs) {
    let fan: FanOut | undefined;
    // DELTA points of one series follow each other without overlap: each starts where the last ended.
    const lastEnd = new Map<string, bigint>();
    let lastNow = 0n;

    const build = (logs: LogsRequest): MetricsRequest | undefined => {
      const out: MetricsRequest = { resourceMetrics: [] };
      for (const rl of logs.resourceLogs ?? []) {
        const series = new Map<string, Series>();
        const add = (metric: string, attrs: KeyValue[], amount: bigint, time: bigint) => {
          const key = `${metric}\u0000${JSON.stringify(attrs.map((kv) => [kv.key, kv.value]))}`;
          const s0 = series.get(key);
          if (s0) {
            s0.total += amount;
            if (time > 0n && (s0.firstSeen === 0n || time < s0.firstSeen)) s0.firstSeen = time;
          } else series.set(key, { metric, attrs, total: amount, firstSeen: time });
        };
        for (const sl of rl.scopeLogs ?? [])
          for (const log of sl.logRecords ?? []) {
            const agent = agentOf(log);
            if (agent !== 'codex' && agent !== 'gemini_cli') continue;
            const model = findAttribute(log.attributes, 'model');
            const attrs: KeyValue[] = [{ key: 'model', value: model ?? { stringValue: '' } }];
            for (const k of config.attributes) {
              const v = findAttribute(log.attributes, k);
              if (v && k !== 'model') attrs.push({ key: k, value: v });
            }
            const time = timeOf(log.timeUnixNano) || timeOf(log.observedTimeUnixNano);
            const usd = usdOf(findAttribute(log.attributes, COST_USD));
            if (usd !== undefined && usd >= 0) add(COST_METRIC[agent]!.name, attrs, usdToNanos(usd), time);
            if (agent === 'codex') {
              const u = usageOf(log, agent);
              if (!u) continue;
              const byType = [u.input, u.output, u.cacheRead, u.cacheWrite];
              TOKEN_TYPES.forEach((type, i) => add('codex.token.usage', [...attrs, { key: 'type', value: { stringValue: type } }], byType[i], time));
            }
          }
        if (series.size === 0) continue;
        out.resourceMetrics.push({ resource: rl.resource as Resource, scopeMetrics: [{ scope: SCOPE, metrics: metricsOf(rl.resource, series) }] });
      }
      return out.resourceMetrics.length ? out : undefined;
    };

    const metricsOf = (resource: unknown, series: Map<string, Series>): Metric[] => {
      let now = BigInt(Date.now()) * 1_000_000n;
      if (now <= lastNow) now = lastNow + 1n;
      lastNow = now;
      const resKey = JSON.stringify((resource as Resource | null)?.attributes ?? []);
      const byName = new Map<string, Metric>();
      for (const [key, sr] of series) {
        const seriesKey = `${resKey}\u0000${key}`;
        const prev = lastEnd.get(seriesKey);
        const start = prev ?? (sr.firstSeen > 0n && sr.firstSeen < now ? sr.firstSeen : now);
        if (lastEnd.size >= SERIES_LIMIT) lastEnd.clear();
        lastEnd.set(seriesKey, now);
        let m = byName.get(sr.metric);
        if (!m) {
          const isCost = sr.metric !== 'codex.token.usage';
          const agent = sr.metric.startsWith('codex.') ? 'codex' : 'gemini_cli';
          m = {
            name: sr.metric,
            description: isCost ? COST_METRIC[agent]!.description : 'Number of tokens used',
            unit: isCost ? 'USD' : 'tokens',
            sum: { dataPoints: [], aggregationTemporality: 1, isMonotonic: true },
          };
          byName.set(sr.metric, m);
        }
        const value = sr.metric === 'codex.token.usage' ? Number(sr.total) : Number(sr.total) / 1e9;
        const point: DataPoint = { attributes: sr.attrs, startTimeUnixNano: start.toString(), timeUnixNano: now.toString(), asDouble: value };
        m.sum!.dataPoints.push(point);
      }
      return [...byName.values()];
    };

    return {
      async consume(batch) {
        const model = build(batch.read() as LogsRequest);
        if (!model) return;
        // The points share resource and attribute values with the logs batch: the first edit downstream copies.
        const metrics = Batch.fromModel('metrics', model, true);
        metrics.metadata = batch.metadata;
        fan ??= new FanOut([...outputs.values()]);
        await fan.consume(metrics);
        ctx.telemetry.add('connector_routed_items', metrics.itemCount() * outputs.size, { component: ctx.id, signal: ctx.to });
      },
    };
  },
};
