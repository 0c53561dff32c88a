// What the OTLP exporters share: a bounded in-memory sending queue served by a
// few consumers, and retry with exponential backoff and jitter, shaped like the
// Collector's exporterhelper (`sending_queue`, `retry_on_failure`).
//
// An exporter supplies one function, `send(batch, abortSignal)`, that makes one
// attempt and either resolves with what the backend said (partial success) or
// throws an ExportError that says whether the attempt may be retried and after
// how long at least. Everything else (queueing, backoff, counting, the log line
// when data is given up on, draining at shutdown) lives here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { s, type Schema, type SchemaType } from '../config/schema';
import { DeliveryError, type ComponentContext, type Exporter } from '../pipeline/component';
import type { Batch } from '../otlp/batch';
import type { Signal } from '../otlp/schema';

// ---------------------------------------------------------------------------
// Config

export const sendingQueueSchema = s.object({
  enabled: s.bool({ default: true }),
  /** Batches (export requests) waiting to be sent; past this `consume` refuses. */
  queue_size: s.number({ default: 1000, min: 1, integer: true }),
  /** Batches sent at the same time. */
  num_consumers: s.number({ default: 10, min: 1, integer: true }),
});

export const retrySchema = s.object({
  enabled: s.bool({ default: true }),
  initial_interval: s.duration({ default: '5s' }),
  max_interval: s.duration({ default: '30s' }),
  /** Give up on a batch after this long; 0 means never. */
  max_elapsed_time: s.duration({ default: '300s' }),
  multiplier: s.number({ default: 1.5, min: 1 }),
  randomization_factor: s.number({ default: 0.5, min: 0, max: 1 }),
});

export type SendingQueueConfig = SchemaType<typeof sendingQueueSchema>;
export type RetryConfig = SchemaType<typeof retrySchema>;

/** TLS settings shared by both exporters (`tls:` in the Collector's config). */
export const tlsSchema = s.object({
  /** gRPC: plaintext (no TLS). Default: false, or true when the endpoint has the http:// scheme. */
  insecure: optional(s.bool()),
  ca_file: optional(s.string({ nonEmpty: true })),
  cert_file: optional(s.string({ nonEmpty: true })),
  key_file: optional(s.string({ nonEmpty: true })),
  insecure_skip_verify: s.bool({ default: false }),
});
export type TlsConfig = SchemaType<typeof tlsSchema>;

/** A key that may be absent: no default, the checked value is undefined when not set. */
export function optional<T>(sch: Schema<T>): Schema<T | undefined> {
  return sch;
}

/** The PEM contents of the configured files; throws a clear error naming the file when one can't be read. */
export function readTlsFiles(tls: TlsConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (key: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`tls.${key}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const out = { ca: read('ca_file', tls.ca_file), cert: read('cert_file', tls.cert_file), key: read('key_file', tls.key_file) };
  if ((out.cert === undefined) !== (out.key === undefined)) throw new Error('tls: cert_file and key_file must be set together');
  return out;
}

export const USER_AGENT = `agentrelay/${packageVersion()}`;

function packageVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'agentrelay' && pkg.version) return pkg.version;
    } catch {
      // not here; look further up
    }
    dir = path.dirname(dir);
  }
  return 'dev';
}

// ---------------------------------------------------------------------------
// What one attempt reports

/** The backend accepted the request; `rejected` items of it were refused in a partial_success answer. */
export interface SendResult {
  rejected: number;
  errorMessage?: string;
}

/** One failed attempt. */
export class ExportError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** The server's retry delay (RetryInfo, Retry-After), used as a floor for the next wait. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export type SendFn = (batch: Batch, abort: AbortSignal) => Promise<SendResult>;

// ---------------------------------------------------------------------------
// Server retry hints

/**
 * The retry delay of a google.rpc.RetryInfo in a `grpc-status-details-bin` value
 * (a google.rpc.Status), or undefined when there is none. Read with a bare
 * protobuf reader so that no extra .proto files are needed:
 *   Status { int32 code = 1; string message = 2; repeated Any details = 3; }
 *   Any { string type_url = 1; bytes value = 2; }
 *   RetryInfo { Duration retry_delay = 1; }  Duration { int64 seconds = 1; int32 nanos = 2; }
 */
export function retryInfoDelayMs(statusDetails: Uint8Array): number | undefined {
  try {
    const r = protobuf.Reader.create(statusDetails);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 !== 3 || (tag & 7) !== 2) {
        r.skipType(tag & 7);
        continue;
      }
      const any = protobuf.Reader.create(r.bytes());
      let typeUrl = '';
      let value: Uint8Array | undefined;
      while (any.pos < any.len) {
        const t = any.uint32();
        if (t === 10) typeUrl = any.string();
        else if (t === 18) value = any.bytes();
        else any.skipType(t & 7);
      }
      if (!typeUrl.endsWith('/google.rpc.RetryInfo') || value === undefined) continue;
      const ri = protobuf.Reader.create(value);
      let ms = 0;
      while (ri.pos < ri.len) {
        const t = ri.uint32();
        if (t !== 10) {
          ri.skipType(t & 7);
          continue;
        }
        const d = protobuf.Reader.create(ri.bytes());
        while (d.pos < d.len) {
          const u = d.uint32();
          if (u === 8) ms += Number(d.int64()) * 1000;
          else if (u === 16) ms += d.int32() / 1e6;
          else d.skipType(u & 7);
        }
      }
      return Math.max(0, ms);
    }
  } catch {
    // Malformed details: no hint.
  }
  return undefined;
}

/** The message (field 2) of a google.rpc.Status in protobuf, as OTLP/HTTP servers send on errors. */
export function statusMessageOf(bytes: Uint8Array): string | undefined {
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 18) return r.string();
      r.skipType(tag & 7);
    }
  } catch {
    // not a Status
  }
  return undefined;
}

/** HTTP `Retry-After`: delay in seconds or an HTTP-date. Milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(v: string | string[] | undefined, now = Date.now()): number | undefined {
  if (Array.isArray(v)) v = v[0];
  if (v === undefined) return undefined;
  const str = v.trim();
  if (/^\d+$/.test(str)) return Number(str) * 1000;
  const t = Date.parse(str);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

// ---------------------------------------------------------------------------
// Backoff

/** Exponential backoff with jitter, as the Collector's (cenkalti/backoff) ExponentialBackOff. */
export class Backoff {
  private interval: number;

  constructor(private readonly cfg: RetryConfig, private readonly random: () => number = Math.random) {
    this.interval = cfg.initial_interval;
  }

  /** The next wait in ms (randomized within ±randomization_factor of the current interval). */
  next(): number {
    const delta = this.cfg.randomization_factor * this.interval;
    const min = this.interval - delta;
    const wait = min + this.random() * (2 * delta);
    this.interval = Math.min(this.interval * this.cfg.multiplier, Math.max(this.cfg.max_interval, this.cfg.initial_interval));
    return Math.max(0, Math.round(wait));
  }
}

// ---------------------------------------------------------------------------
// The sender

type Outcome = { ok: true } | { ok: false; retryable: boolean; message: string; retryAfterMs?: number };

export interface SenderOptions {
  ctx: ComponentContext;
  signal: Signal;
  queue: SendingQueueConfig;
  retry: RetryConfig;
  /** Where the data goes, for log lines; must carry no secret (use safeUrl). */
  destination: string;
  send: SendFn;
  /** Called after the queue has drained at shutdown: close connections. */
  close?: () => Promise<void> | void;
}

/**
 * The Exporter half the OTLP exporters share: `consume` puts the batch in the
 * queue (or, with the queue disabled, sends it at once, retrying) and `shutdown`
 * drains. Never re-encodes: `send` takes the batch as is.
 */
export class QueuedRetrySender implements Exporter {
  private readonly ctx: ComponentContext;
  private readonly signal: Signal;
  private readonly attrs: { component: string; signal: Signal };
  private readonly queueCfg: SendingQueueConfig;
  private readonly retryCfg: RetryConfig;
  private readonly destination: string;
  private readonly sendFn: SendFn;
  private readonly closeFn?: () => Promise<void> | void;

  private readonly queue: Batch[] = [];
  private readonly idle: (() => void)[] = [];
  private readonly workers: Promise<void>[] = [];
  /** Synchronous (queue disabled) deliveries in flight. */
  private readonly inFlight = new Set<Promise<Outcome>>();
  /** Aborted at the shutdown deadline: cancels requests in flight and retry waits. */
  private readonly abort = new AbortController();
  private closing = false;
  private deadline: number | undefined;
  private shutdownPromise: Promise<void> | undefined;

  constructor(opts: SenderOptions) {
    this.ctx = opts.ctx;
    this.signal = opts.signal;
    this.attrs = { component: opts.ctx.id, signal: opts.signal };
    this.queueCfg = opts.queue;
    this.retryCfg = opts.retry;
    this.destination = opts.destination;
    this.sendFn = opts.send;
    this.closeFn = opts.close;
    if (this.queueCfg.enabled) {
      // Idle workers are only pending promises: they hold no timer or handle, so
      // they don't keep the process alive.
      for (let i = 0; i < this.queueCfg.num_consumers; i++) this.workers.push(this.work());
    }
  }

  /** Batches waiting in the queue (not those being sent). */
  get queued(): number {
    return this.queue.length;
  }

  async consume(batch: Batch): Promise<void> {
    if (this.closing) throw new DeliveryError(`exporter ${this.ctx.id} is shutting down`, true);
    if (batch.isEmpty()) return;
    if (this.queueCfg.enabled) {
      // Refused, not counted here: the receiver counts what it refuses, and the
      // sender (agent SDK or upstream relay) retries.
      if (this.queue.length >= this.queueCfg.queue_size) throw new DeliveryError('sending queue is full', true);
      this.queue.push(batch);
      this.idle.shift()?.();
      return;
    }
    const p = this.deliver(batch);
    this.inFlight.add(p);
    let out: Outcome;
    try {
      out = await p;
    } finally {
      this.inFlight.delete(p);
    }
    if (!out.ok) throw new DeliveryError(out.message, out.retryable, out.retryAfterMs);
  }

  shutdown(deadline: number): Promise<void> {
    this.shutdownPromise ??= this.doShutdown(deadline);
    return this.shutdownPromise;
  }

  private async doShutdown(deadline: number): Promise<void> {
    this.closing = true;
    this.deadline = deadline;
    for (const wake of this.idle.splice(0)) wake();
    const timer = setTimeout(() => this.abort.abort(new Error('shutdown deadline reached')), Math.max(0, deadline - Date.now()));
    try {
      await Promise.all([...this.workers, ...this.inFlight]);
    } finally {
      clearTimeout(timer);
      this.abort.abort(new Error('exporter shut down'));
    }
    const lost = this.ctx.telemetry.total('exporter_failed_items', { ...this.attrs, reason: 'shutdown' });
    if (lost > 0) this.ctx.logger.warn({ signal: this.signal, destination: this.destination, items: lost }, `shutdown deadline reached: ${lost} items not delivered`);
    await this.closeFn?.();
  }

  private async work(): Promise<void> {
    for (;;) {
      const batch = this.queue.shift();
      if (batch === undefined) {
        if (this.closing) return;
        await new Promise<void>((wake) => this.idle.push(wake));
        continue;
      }
      await this.deliver(batch);
    }
  }

  /** Sends one batch, retrying as configured. Never throws; counts and logs what happened. */
  private async deliver(batch: Batch): Promise<Outcome> {
    const items = batch.itemCount();
    const started = Date.now();
    const backoff = new Backoff(this.retryCfg);
    const abort = this.abort.signal;
    for (let attempt = 1; ; attempt++) {
      if (abort.aborted) return this.lostAtShutdown(items);
      let err: ExportError;
      try {
        const res = await this.sendFn(batch, abort);
        this.succeeded(items, res);
        return { ok: true };
      } catch (e) {
        err = e instanceof ExportError ? e : new ExportError((e as Error)?.message ?? String(e), true);
      }
      if (abort.aborted) return this.lostAtShutdown(items);
      if (!err.retryable) {
        this.ctx.telemetry.add('exporter_dropped_items', items, { ...this.attrs, reason: 'non_retryable' });
        this.ctx.logger.error(
          { signal: this.signal, destination: this.destination, items, attempt },
          `dropping ${items} ${this.signal} items: non-retryable error from ${this.destination}: ${err.message}`,
        );
        return { ok: false, retryable: false, message: `non-retryable error: ${err.message}` };
      }
      const now = Date.now();
      let wait = backoff.next();
      if (err.retryAfterMs !== undefined) wait = Math.max(wait, err.retryAfterMs);
      const max = this.retryCfg.max_elapsed_time;
      if (!this.retryCfg.enabled || (max > 0 && now - started + wait > max)) {
        this.ctx.telemetry.add('exporter_failed_items', items, { ...this.attrs, reason: 'retries_exhausted' });
        this.ctx.logger.warn(
          { signal: this.signal, destination: this.destination, items, attempts: attempt },
          `giving up on ${items} ${this.signal} items after ${attempt} attempt(s): ${err.message}`,
        );
        return { ok: false, retryable: true, message: `export failed after ${attempt} attempt(s): ${err.message}`, retryAfterMs: err.retryAfterMs };
      }
      if (this.deadline !== undefined && now + wait >= this.deadline) return this.lostAtShutdown(items);
      this.ctx.logger.debug(
        { signal: this.signal, destination: this.destination, items, attempt, waitMs: wait },
        `export failed, will retry: ${err.message}`,
      );
      await sleep(wait, abort);
    }
  }

  private succeeded(items: number, res: SendResult): void {
    const rejected = Math.min(items, Math.max(0, Math.floor(res.rejected || 0)));
    this.ctx.telemetry.add('exporter_sent_items', items - rejected, this.attrs);
    if (rejected > 0) {
      this.ctx.telemetry.add('exporter_partial_success_items', rejected, this.attrs);
      this.ctx.logger.warn(
        { signal: this.signal, destination: this.destination, items, rejected },
        `${this.destination} rejected ${rejected} of ${items} ${this.signal} items (partial success)` +
          (res.errorMessage ? `: ${truncate(res.errorMessage)}` : ''),
      );
    }
  }

  private lostAtShutdown(items: number): Outcome {
    this.ctx.telemetry.add('exporter_failed_items', items, { ...this.attrs, reason: 'shutdown' });
    return { ok: false, retryable: true, message: `exporter ${this.ctx.id} shut down before the data was delivered` };
  }
}

function sleep(ms: number, abort: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      abort.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    abort.addEventListener('abort', done, { once: true });
  });
}

/** A server's message for a log line: one line, bounded. */
export function truncate(msg: string, max = 300): string {
  const one = msg.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max) + '…' : one;
}
