// What both OTLP receivers do with a request once its bytes are in hand: decode,
// set aside records that break the OTLP rules (answered as partial_success),
// hand the rest to the pipelines and count the outcome. Transport code only maps
// the outcome to HTTP statuses or gRPC codes.
import { Batch } from '../otlp/batch';
import { JsonShapeError } from '../otlp/json';
import type { Signal } from '../otlp/schema';
import { rejectInvalid } from '../otlp/validate';
import { DeliveryError, type ComponentContext, type Consumer } from '../pipeline/component';

export type IntakeResult =
  | { kind: 'ok'; rejected: number; message: string }
  | { kind: 'bad_request'; message: string }
  | { kind: 'refused'; message: string; retryable: boolean; retryAfterMs?: number };

export class Intake {
  constructor(private readonly ctx: ComponentContext, private readonly transport: 'grpc' | 'http') {}

  badRequest(signal: Signal | 'unknown', reason: string, message: string): IntakeResult {
    this.ctx.telemetry.add('receiver_bad_requests', 1, { component: this.ctx.id, transport: this.transport, signal, reason });
    return { kind: 'bad_request', message };
  }

  decode(signal: Signal, body: Uint8Array, format: 'proto' | 'json'): Batch | IntakeResult {
    try {
      if (format === 'proto') return Batch.fromProto(signal, body);
      let obj: unknown;
      try {
        obj = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
      } catch (e) {
        return this.badRequest(signal, 'decode', `request body is not valid JSON: ${(e as Error).message}`);
      }
      return Batch.fromJsonObject(signal, obj);
    } catch (e) {
      if (e instanceof JsonShapeError) return this.badRequest(signal, 'decode', `request body is not an OTLP ${signal} request: ${e.message}`);
      return this.badRequest(signal, 'decode', `request body is not a protobuf OTLP ${signal} request: ${(e as Error).message}`);
    }
  }

  async deliver(signal: Signal, batch: Batch, consumer: Consumer): Promise<IntakeResult> {
    const { rejected, message } = rejectInvalid(batch);
    const labels = { component: this.ctx.id, transport: this.transport, signal };
    if (rejected > 0) this.ctx.telemetry.add('receiver_refused_items', rejected, { ...labels, reason: 'invalid' });
    const items = batch.itemCount();
    if (items === 0) return { kind: 'ok', rejected, message };
    try {
      await consumer.consume(batch);
    } catch (e) {
      const de = e instanceof DeliveryError ? e : new DeliveryError((e as Error).message, true);
      this.ctx.telemetry.add('receiver_refused_items', items, { ...labels, reason: de.retryable ? 'retryable' : 'permanent' });
      this.ctx.logger.warn({ signal, items, retryable: de.retryable, reason: de.message }, 'request refused: the pipeline did not take it');
      return { kind: 'refused', message: de.message, retryable: de.retryable, retryAfterMs: de.retryAfterMs };
    }
    this.ctx.telemetry.add('receiver_accepted_items', items, labels);
    return { kind: 'ok', rejected, message };
  }
}
