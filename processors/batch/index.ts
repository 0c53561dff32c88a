// batch: groups requests into bigger ones before export, flushing when a batch
// reaches send_batch_size items or send_batch_max_bytes, or when `timeout` has
// passed since its first item, as the Collector's batch processor does (without
// splitting oversized requests). Held data is flushed at shutdown.
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
    let held: Batch[] = [];
    let items = 0;
    let bytes = 0;
    let timer: NodeJS.Timeout | undefined;
    const inflight = new Set<Promise<void>>();

    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (held.length === 0) return;
      const out = Batch.concat(ctx.signal, held);
      held = [];
      items = 0;
      bytes = 0;
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
        held.push(batch);
        items += n;
        if (config.send_batch_max_bytes > 0) bytes += batch.toProto().length;
        if (items >= config.send_batch_size || (config.send_batch_max_bytes > 0 && bytes >= config.send_batch_max_bytes)) flush();
        else if (!timer) timer = setTimeout(flush, config.timeout);
      },
      async shutdown() {
        flush();
        await Promise.all(inflight);
      },
    };
  },
};
