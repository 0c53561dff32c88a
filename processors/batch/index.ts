// batch: groups requests into bigger ones before export, flushing when a batch
// reaches send_batch_size items or send_batch_max_bytes, or when `timeout` has
// passed since its first item, as the Collector's batch processor does (without
// splitting oversized requests). Requests with different client metadata (see the
// receiver's include_metadata) are never joined. Held data is flushed at shutdown.
//
// When a request is acknowledged is a setting (`acknowledge`): on receipt (the
// Collector's behaviour: fast, but what the processor holds dies with the
// process), or after the flush that carries it was taken downstream (by a
// persistent queue: durable; a refusal downstream is passed back to the sender).
// `auto` picks after_flush when any exporter of the relay has a persistent queue.
import { s, type SchemaType } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';
import { Batch } from '../../src/otlp/batch';
import { persistentQueuesConfigured } from '../../src/exporters/queues';

const schema = s.object({
  send_batch_size: s.number({ default: 8192, min: 1, integer: true }),
  send_batch_max_bytes: s.bytes({ default: 0 }),
  timeout: s.duration({ default: '200ms' }),
  acknowledge: s.oneOf(['auto', 'on_receipt', 'after_flush'] as const, { default: 'auto' }),
});

export type BatchConfig = SchemaType<typeof schema>;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

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
      /** Senders waiting for this flush (after_flush only). */
      waiters: Waiter[];
    }
    // One group per distinct metadata; without include_metadata there is just one.
    const groups = new Map<string, Group>();
    const inflight = new Set<Promise<void>>();
    let afterFlush: boolean | undefined;
    const decide = (): boolean =>
      (afterFlush ??= config.acknowledge === 'after_flush' || (config.acknowledge === 'auto' && persistentQueuesConfigured() > 0));

    const flush = (key: string) => {
      const g = groups.get(key);
      if (!g) return;
      if (g.timer) clearTimeout(g.timer);
      groups.delete(key);
      const out = Batch.concat(ctx.signal, g.held);
      const p = next.consume(out).then(
        () => {
          for (const w of g.waiters) w.resolve();
        },
        (err) => {
          if (g.waiters.length) {
            for (const w of g.waiters) w.reject(err);
            return;
          }
          // The request was already acknowledged; exporters with a queue count their own failures.
          ctx.logger.error({ err: (err as Error).message, items: out.itemCount() }, 'batch could not be handed on');
        },
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };

    return {
      async start() {
        decide();
        if (afterFlush) ctx.logger.debug({ pipeline: ctx.pipeline }, 'batch: acknowledging requests after their flush is taken downstream');
      },
      consume(batch) {
        const n = batch.itemCount();
        if (n === 0) return Promise.resolve();
        const key = Object.keys(batch.metadata).length ? JSON.stringify(batch.metadata) : '';
        let g = groups.get(key);
        if (!g) {
          g = { held: [], items: 0, bytes: 0, waiters: [] };
          groups.set(key, g);
        }
        // Held batches keep only their encoding: a decoded request takes several times its
        // encoded size, and hundreds of them held for `timeout` made the garbage collector
        // work harder than the rest of the relay. Unchanged records are copied, not encoded
        // (record-bytes.ts). Not when a processor follows, which would decode it all again.
        if (ctx.last) batch.compact();
        g.held.push(batch);
        g.items += n;
        let done = Promise.resolve();
        if (decide()) {
          const group = g;
          done = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
        }
        if (config.send_batch_max_bytes > 0) g.bytes += batch.toProto().length;
        if (g.items >= config.send_batch_size || (config.send_batch_max_bytes > 0 && g.bytes >= config.send_batch_max_bytes)) flush(key);
        else if (!g.timer) g.timer = setTimeout(flush, config.timeout, key);
        return done;
      },
      async shutdown() {
        for (const key of [...groups.keys()]) flush(key);
        await Promise.all(inflight);
      },
    };
  },
};
