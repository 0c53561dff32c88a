// batch: groups requests into bigger ones before export, flushing when a batch
// reaches send_batch_size items or send_batch_max_bytes, or when `timeout` has
// passed since its first item, as the Collector's batch processor does (without
// splitting oversized requests). Requests with different client metadata (see the
// receiver's include_metadata) are never joined. Held data is flushed at shutdown.
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { Batch } from '../../src/otlp/batch';

const schema = s.object({
  send_batch_size: s.number({ default: 8192, min: 1, integer: true }),
  send_batch_max_bytes: s.bytes({ default: 0 }),
  timeout: s.duration({ default: '200ms' }),
});

export type BatchConfig = SchemaType<typeof schema>;

export const batchProcessor: ProcessorFactory<BatchConfig> = {
  type: 'batch',
  schema,
  signals: ['logs', 'metrics', 'traces'],
  create(config, ctx, next) {
    interface Group {
      held: Batch[];
      items: number;
      bytes: number;
      timer?: NodeJS.Timeout;
    }
    // One group per distinct metadata; without include_metadata there is just one.
    const groups = new Map<string, Group>();
    const inflight = new Set<Promise<void>>();

    const flush = (key: string) => {
      const g = groups.get(key);
      if (!g) return;
      if (g.timer) clearTimeout(g.timer);
      groups.delete(key);
      const out = Batch.concat(ctx.signal, g.held);
      const p = next.consume(out).catch((err) => {
        // The request was already acknowledged; exporters with a queue count their own failures.
        ctx.logger.error({ err: (err as Error).message, items: out.itemCount() }, 'batch could not be handed on');
      });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };

    return {
      async consume(batch) {
        const n = batch.itemCount();
        if (n === 0) return;
        const key = Object.keys(batch.metadata).length ? JSON.stringify(batch.metadata) : '';
        let g = groups.get(key);
        if (!g) {
          g = { held: [], items: 0, bytes: 0 };
          groups.set(key, g);
        }
        g.held.push(batch);
        g.items += n;
        if (config.send_batch_max_bytes > 0) g.bytes += batch.toProto().length;
        if (g.items >= config.send_batch_size || (config.send_batch_max_bytes > 0 && g.bytes >= config.send_batch_max_bytes)) flush(key);
        else if (!g.timer) g.timer = setTimeout(flush, config.timeout, key);
      },
      async shutdown() {
        for (const key of [...groups.keys()]) flush(key);
        await Promise.all(inflight);
      },
    };
  },
};
