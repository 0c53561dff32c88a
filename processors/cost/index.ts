// cost: prices the token counts on agent events (logs pipelines). Codex's
// response.completed and Gemini CLI's api_response events get `cost_usd`, exact to
// 1e-9 USD, from the price table (config/prices.yaml, `prices_file`, inline
// `prices:`); Claude Code's own cost_usd is kept, and `recompute: true` writes the
// relay's figure beside it. An event whose model has no price is marked, its
// tokens are counted by model, and the model is named once in a warning. The cost
// connector turns the priced events into metrics.
import * as path from 'node:path';
import { s, type Schema } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { simpleProcessor } from '../../src/pipeline/simple-processor';
import { forEachRecord } from '../../src/otlp/partition';
import type { KeyValue, LogRecord, LogsRequest } from '../../src/otlp/model';
import { addAttribute } from '../../src/otlp/record-bytes';
import { findAttribute } from '../../src/conditions';
import { checkRows, loadPriceFile, shippedTable, shippedTablePath, type PriceRow } from './prices';
import { PriceIndex } from './match';
import { costPicos } from './pricing';
import { picosToUsd } from './money';
import { agentOf, totalTokens, usageOf } from './usage';
import { COST_USD, RECOMPUTED_COST_USD, UNPRICED } from './names';

const fields = s.object({
  /** A price table file replacing the shipped config/prices.yaml (relative paths from the working directory). */
  prices_file: s.string({ default: '' }),
  /** Rows that override or extend the table, keyed by model id. */
  prices: s.custom<PriceRow[]>('map of model id to its prices', (v, p, ctx) =>
    checkRows(v, p, (path, message) => ctx.issues.push({ path, message, severity: 'error' })), []),
  /** Also price events that carry the agent's own cost_usd (Claude Code) and write the relay's figure beside it. */
  recompute: s.bool({ default: false }),
});

export interface CostConfig {
  prices_file: string;
  recompute: boolean;
  /** The table in force: the file's rows with the inline rows applied. */
  table: PriceRow[];
  /** Where the file rows came from, for the start-up log. */
  tableFile: string;
}

// The file is read in the schema check, so a bad table stops validation with the file and row named.
const schema: Schema<CostConfig> = s.custom('map', (v, p, ctx) => {
  const c = fields.check(v, p, ctx);
  if (!c) return undefined;
  let file: string;
  let loaded;
  if (c.prices_file) {
    file = path.resolve(c.prices_file);
    loaded = loadPriceFile(file);
  } else {
    loaded = shippedTable();
    try {
      file = shippedTablePath();
    } catch {
      file = 'config/prices.yaml';
    }
  }
  if (!loaded.rows) {
    for (const message of loaded.errors) ctx.issues.push({ path: c.prices_file ? [...p, 'prices_file'] : p, message, severity: 'error' });
    return undefined;
  }
  const byId = new Map(loaded.rows.map((r) => [r.id, r]));
  for (const r of c.prices) byId.set(r.id, r);
  return { prices_file: c.prices_file, recompute: c.recompute, table: [...byId.values()], tableFile: file };
});

/** Distinct models named in the unpriced counter and warnings; the rest are counted as "other". */
const MAX_UNPRICED_MODELS = 100;

export const costProcessor: ProcessorFactory<CostConfig> = {
  type: 'cost',
  schema,
  signals: ['logs'],
  create(config, ctx, next) {
    const index = new PriceIndex(config.table);
    const unpricedTokens = ctx.telemetry.counter('cost_unpriced_tokens', 'Tokens on agent events whose model has no price in the cost price table, by model');
    const warned = new Set<string>();
    ctx.logger.info({ models: index.size, file: config.tableFile }, 'cost: price table loaded');

    const unpriced = (model: string, agent: string, tokens: bigint) => {
      let label = model || '(none)';
      if (!warned.has(label)) {
        if (warned.size >= MAX_UNPRICED_MODELS) label = 'other';
        else {
          warned.add(label);
          ctx.logger.warn({ model: label, agent }, 'cost: no price for this model; its events are marked agentrelay.cost_unpriced (add the model to the cost processor\'s prices)');
        }
      }
      unpricedTokens(Number(tokens), { component: ctx.id, model: label, agent });
    };

    /** The attribute to add to a record, or undefined when the record is left as it is. */
    const priceOf = (log: LogRecord): KeyValue | undefined => {
      const agent = agentOf(log);
      if (!agent) return undefined;
      const attrs = log.attributes;
      if (findAttribute(attrs, UNPRICED) !== undefined) return undefined;
      const own = findAttribute(attrs, COST_USD) !== undefined;
      if (own && (!config.recompute || findAttribute(attrs, RECOMPUTED_COST_USD) !== undefined)) return undefined;
      const usage = usageOf(log, agent);
      if (!usage) return undefined;
      const match = index.lookup(usage.model);
      if (!match) {
        unpriced(usage.model, agent, totalTokens(usage));
        return { key: UNPRICED, value: { boolValue: true } };
      }
      return { key: own ? RECOMPUTED_COST_USD : COST_USD, value: { doubleValue: picosToUsd(costPicos(usage, match)) } };
    };

    return simpleProcessor(ctx, next, (batch) => {
      // Decide on the read-only model; copy and edit only when some record gets an attribute.
      const adds = new Map<number, KeyValue>();
      let i = 0;
      forEachRecord('logs', batch.read(), (r) => {
        const kv = priceOf(r.log!);
        if (kv) adds.set(i, kv);
        i++;
      });
      if (adds.size === 0) return batch;
      const model = batch.editRecords() as LogsRequest;
      i = 0;
      for (const rl of model.resourceLogs ?? [])
        for (const sl of rl.scopeLogs ?? [])
          for (const log of sl.logRecords ?? []) {
            const kv = adds.get(i++);
            if (kv) addAttribute(log, kv);
          }
      return batch;
    });
  },
};
