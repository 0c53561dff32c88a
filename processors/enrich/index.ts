// enrich: adds attributes such as team, environment or project, from static values,
// from request headers the receiver kept (include_metadata), and from a lookup file
// that maps a user attribute to a row of attributes (see README.md).
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { simpleProcessor } from '../../src/pipeline/simple-processor';
import type { AnyValue } from '../../src/otlp/model';
import { enrichModel, type EnrichPlan, type Walk } from './apply';
import { acquireLookup, releaseLookup, type LookupTable } from './lookup';
import { anyValueOf, formatOf, type TableFormat } from './table';

const scalar = s.custom<string | number | boolean>('string, number or boolean', (v, path, ctx) => {
  if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
  ctx.issues.push({ path, severity: 'error', message: `expected a string, number or boolean, got ${v === null ? 'nothing' : Array.isArray(v) ? 'a list' : typeof v}` });
  return undefined;
});

const lookup = s.object({
  path: s.string({ default: '' }),
  format: s.oneOf<'auto' | 'csv' | 'yaml'>(['auto', 'csv', 'yaml'], { default: 'auto' }),
  keys: s.list(s.string({ nonEmpty: true }), { default: ['user.email', 'user.account_uuid', 'user.id'], minItems: 1 }),
  reload_interval: s.duration({ default: '30s' }),
});

const schema = s.object(
  {
    target: s.oneOf<'resource' | 'record'>(['resource', 'record'], { default: 'resource' }),
    overwrite: s.bool({ default: false }),
    static: s.map(scalar, { default: {} }),
    from_metadata: s.map(s.string({ nonEmpty: true }), { default: {} }),
    lookup,
  },
  {
    validate(v, path, ctx) {
      if (v.lookup.path && v.lookup.format === 'auto' && !formatOf(v.lookup.path))
        ctx.issues.push({
          path: [...path, 'lookup', 'path'],
          severity: 'error',
          message: 'cannot tell the format from the extension (.csv, .yaml, .yml or .json); set lookup.format',
        });
    },
  },
);

export type EnrichConfig = SchemaType<typeof schema>;

export const enrichProcessor: ProcessorFactory<EnrichConfig> = {
  type: 'enrich',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    const plan: EnrichPlan = { target: config.target, overwrite: config.overwrite, lookupKeys: config.lookup.keys };
    const statics = new Map<string, AnyValue>(Object.entries(config.static).map(([k, v]) => [k, anyValueOf(v)]));
    // Header names arrive lower-case in batch.metadata.
    const headers = Object.entries(config.from_metadata).map(([h, attr]) => [h.toLowerCase(), attr] as const);
    const misses = ctx.telemetry.counter('enrich_lookup_misses', 'Records or resources whose lookup key matched no row of the lookup file');
    const reloads = ctx.telemetry.counter('enrich_lookup_reloads', 'Reloads of the enrich lookup file, by result: applied or failed');
    const labels = { component: ctx.id, signal: ctx.signal };
    let table: LookupTable | undefined;
    // A warning from the schema would fail validation (any issue does), so an empty enrich is reported here.
    if (statics.size === 0 && headers.length === 0 && !config.lookup.path)
      ctx.logger.warn({ component: ctx.id }, 'enrich has nothing to add: set static, from_metadata or lookup.path');

    const baseFor = (metadata: Readonly<Record<string, string>>) => {
      if (headers.length === 0) return statics;
      let out: Map<string, AnyValue> | undefined;
      for (const [h, attr] of headers) {
        const v = metadata[h];
        if (v === undefined || v === '') continue;
        out ??= new Map(statics);
        out.set(attr, { stringValue: v });
      }
      return out ?? statics;
    };

    const proc = simpleProcessor(ctx, next, (batch) => {
      const w: Walk = { base: baseFor(batch.metadata), table: table?.table, misses: 0 };
      if (w.base.size === 0 && !w.table?.size) return batch;
      if (enrichModel(ctx.signal, batch.read(), plan, w, false)) {
        w.misses = 0;
        enrichModel(ctx.signal, batch.editRecords(), plan, w, true);
      }
      misses(w.misses, labels);
      return batch;
    });

    return {
      consume: proc.consume,
      async start() {
        if (!config.lookup.path) return;
        const format: TableFormat = config.lookup.format === 'auto' ? formatOf(config.lookup.path)! : config.lookup.format;
        try {
          table = await acquireLookup(ctx.id, {
            file: config.lookup.path,
            format,
            reloadIntervalMs: config.lookup.reload_interval,
            logger: ctx.logger,
            onReload: (result) => reloads(1, { component: ctx.id, result }),
          });
        } catch (e) {
          throw new Error(`processors.${ctx.id}.lookup.path: ${(e as Error).message}`);
        }
        ctx.logger.info({ component: ctx.id, rows: table.table.size }, 'enrich: lookup file loaded');
      },
      async shutdown() {
        if (table) releaseLookup(table);
        table = undefined;
      },
    };
  },
};
