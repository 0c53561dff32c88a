// What both OTLP receivers do with a request once its bytes are in hand: decode,
// set aside records that break the OTLP rules (answered as partial_success),
// hand the rest to the pipelines and count the outcome. Transport code only maps
// the outcome to HTTP statuses or gRPC codes.
import { Batch } from '../otlp/batch';
import { JsonShapeError } from '../otlp/json';
import type { Signal } from '../otlp/schema';
import { rejectInvalid } from '../otlp/validate';
import { DeliveryError, type ComponentContext, type Consumer } from '../pipeline/component';
import { PartialDeliveryError } from '../pipeline/fanout';
import type { MemoryLimiter } from '../pipeline/memory-limiter';
import { overLimits, type RequestLimits } from './limits';

export type IntakeResult =
  | { kind: 'ok'; rejected: number; message: string }
  | { kind: 'bad_request'; message: string }
  | { kind: 'too_large'; message: string }
  | { kind: 'refused'; message: string; retryable: boolean; retryAfterMs?: number };

/** What both transports answer when a retryable refusal carries no wait of its own. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

/** A refusal is logged at most this often per signal: a full queue refuses thousands of requests a second. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export class Intake {
  private readonly lastRefusalLog = new Map<string, { at: number; suppressed: number; items: number }>();

  private logRefusal(signal: Signal, items: number, de: DeliveryError): void {
    const now = Date.now();
    const key = `${signal}|${de.retryable}`;
    const last = this.lastRefusalLog.get(key);
    if (last && now - last.at < REFUSAL_LOG_INTERVAL_MS) {
      last.suppressed++;
      last.items += items;
      return;
    }
    const since = last ? { refused_since_last_line: last.suppressed, refused_items_since_last_line: last.items } : {};
    this.lastRefusalLog.set(key, { at: now, suppressed: 0, items: 0 });
    this.ctx.logger.warn({ signal, items, retryable: de.retryable, reason: de.message, ...since }, 'request refused: the pipeline did not take it');
  }

  private readonly countRefusedRequests: (n: number, a: Record<string, string>) => void;
  private readonly countDuplicateRisk: (n: number, a: Record<string, string>) => void;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly transport: 'grpc' | 'http',
    private readonly limits: RequestLimits = { max_items_per_request: 0, max_attributes_per_request: 0 },
    private readonly memory?: MemoryLimiter,
  ) {
    this.countRefusedRequests = ctx.telemetry.counter(
      'receiver_refused_requests',
      'Requests refused before their body was read (memory limiter), with a retryable status',
    );
    this.countDuplicateRisk = ctx.telemetry.counter(
      'receiver_duplicate_risk_items',
      'Items refused to the sender (who retries) after some of their pipelines or exporters had taken them: those will see them twice',
    );
  }

  /** A refusal when memory is short (checked before a body is read), else undefined. */
  memoryCheck(signal: Signal | 'unknown'): IntakeResult | undefined {
    if (!this.memory?.refusing()) return undefined;
    this.countRefusedRequests(1, { component: this.ctx.id, transport: this.transport, signal, reason: 'memory_limit' });
    return { kind: 'refused', retryable: true, retryAfterMs: this.memory.retryAfterMs, message: 'the relay is short of memory: try again later' };
  }

  /** A refusal when the request passes max_items_per_request or max_attributes_per_request, else undefined. */
  limitCheck(signal: Signal, batch: Batch): IntakeResult | undefined {
    const over = overLimits(batch, this.limits);
    if (!over) return undefined;
    this.ctx.telemetry.add('receiver_bad_requests', 1, { component: this.ctx.id, transport: this.transport, signal, reason: over.reason });
    return { kind: 'too_large', message: over.message };
  }

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
      if (de instanceof PartialDeliveryError && de.retryable) this.countDuplicateRisk(items, labels);
      this.logRefusal(signal, items, de);
      return { kind: 'refused', message: de.message, retryable: de.retryable, retryAfterMs: de.retryAfterMs };
    }
    this.ctx.telemetry.add('receiver_accepted_items', items, labels);
    return { kind: 'ok', rejected, message };
  }
}
