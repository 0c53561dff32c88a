// Hands one batch to several consumers, each with its own copy-on-write handle, so
// that none of them sees another's changes. All consumers are tried; the batch
// counts as delivered only when every one of them took it.
import type { Batch } from '../otlp/batch';
import { DeliveryError, type Consumer } from './component';

export class FanOut implements Consumer {
  constructor(private readonly consumers: Consumer[]) {}

  async consume(batch: Batch): Promise<void> {
    const cs = this.consumers;
    if (cs.length === 1) return cs[0].consume(batch);
    const results = await Promise.allSettled(cs.map((c) => c.consume(batch.fork())));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    if (failures.length === 0) return;
    // Retryable if any part may succeed on retry: the sender's retry then reaches every consumer again.
    const retryable = failures.some((e) => !(e instanceof DeliveryError) || e.retryable);
    const after = Math.max(0, ...failures.map((e) => (e instanceof DeliveryError ? e.retryAfterMs ?? 0 : 0)));
    const message = failures.map((e) => (e as Error).message).join('; ');
    const partial = failures.length < cs.length || failures.some((e) => e instanceof PartialDeliveryError);
    throw partial ? new PartialDeliveryError(message, retryable, after || undefined) : new DeliveryError(message, retryable, after || undefined);
  }
}

/**
 * Some consumers took the batch and others refused it: when the sender retries,
 * those that took it get it a second time (the receiver counts these items).
 */
export class PartialDeliveryError extends DeliveryError {}
