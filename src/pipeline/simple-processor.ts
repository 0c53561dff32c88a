// Most processors change or drop records of one batch and hand the result on.
// This wraps such a function into a pipeline Processor: it counts what was
// dropped and does not call the next consumer when nothing is left.
import type { Batch } from '../otlp/batch';
import type { ComponentContext, Consumer, Processor } from './component';
import type { Signal } from '../otlp/schema';

/** Returns the batch to hand on (the same one, changed through batch.edit() or editRecords(), or a new one), or null to drop it all. */
export type BatchFn = (batch: Batch) => Batch | null;

export function simpleProcessor(
  ctx: ComponentContext & { signal: Signal },
  next: Consumer,
  fn: BatchFn,
  reason = 'filtered',
): Processor {
  return {
    async consume(batch) {
      const before = batch.itemCount();
      const out = fn(batch);
      const after = out ? out.itemCount() : 0;
      if (after < before) ctx.telemetry.add('processor_dropped_items', before - after, { component: ctx.id, signal: ctx.signal, reason });
      if (out && after > 0) await next.consume(out);
    },
  };
}
