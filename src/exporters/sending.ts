// What the OTLP exporters share: a bounded sending queue (in memory, or a
// write-ahead log on disk) served by a few consumers, and retry with exponential
// backoff and jitter, shaped like the Collector's exporterhelper (`sending_queue`,
// `retry_on_failure`).
//
// An exporter supplies one function, `send(batch, abortSignal)`, that makes one
// attempt and either resolves with what the backend said (partial success) or
// throws an ExportError that says whether the attempt may be retried and after
// how long at least. Everything else (queueing, backoff, counting, the log line
// when data is given up on, draining at shutdown) lives here.
import { setMaxListeners } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { s, type Schema, type SchemaType } from '../config/schema';
import { DeliveryError, type ComponentContext, type Exporter } from '../pipeline/component';
import { Batch } from '../otlp/batch';
import type { Signal } from '../otlp/schema';
import { MemoryQueue, MERGE_MAX_BYTES, MERGE_MAX_ITEMS, notePersistentQueueConfigured, PersistentQueue, type QueueBounds, type QueueEvents, type SendQueue, type WhenFull } from './queues';
import type { FsyncPolicy } from './persistent-queue';
import { workerDirectory } from '../workers/identity';

// ---------------------------------------------------------------------------
// Config

export const persistentSchema = s.object({
  /** The directory of the write-ahead log; empty: the queue is in memory only. */
  directory: s.string({ default: '' }),
  /** always: sync before acknowledging; interval: sync every fsync_interval; never: leave it to the OS. */
  fsync: s.oneOf(['always', 'interval', 'never'] as const, { default: 'always' }),
  fsync_interval: s.duration({ default: '1s' }),
  /** Size at which the log starts a new segment file (acknowledged segments are deleted). */
  segment_size: s.bytes({ default: 8 * 1024 * 1024 }),
});

export const sendingQueueSchema = s.object(
  {
    enabled: s.bool({ default: true }),
    /** Batches (export requests) that may wait; past this the `when_full` policy applies. */
    queue_size: s.number({ default: 1000, min: 1, integer: true }),
    /** Items (log records, spans, data points) that may wait; 0: no bound. */
    max_items: s.number({ default: 0, min: 0, integer: true }),
    /** Protobuf bytes that may wait; 0: no bound. */
    max_bytes: s.bytes({ default: 64 * 1024 * 1024 }),
    /** Batches sent at the same time. */
    num_consumers: s.number({ default: 10, min: 1, integer: true }),
    when_full: s.oneOf(['refuse', 'drop_newest', 'drop_oldest'] as const, { default: 'refuse' }),
    persistent: persistentSchema,
  },
  {
    validate(v, path, ctx) {
      if (v.persistent.directory && !v.enabled)
        ctx.issues.push({ path: [...path, 'persistent', 'directory'], severity: 'error', message: 'a persistent queue needs sending_queue.enabled: true' });
    },
  },
);

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

type Outcome =
  | { ok: true }
  | { ok: false; retryable: boolean; message: string; retryAfterMs?: number; kept?: boolean };

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

/** The reason label of a failed attempt, from the messages the exporters write (`HTTP 503: ...`, `gRPC UNAVAILABLE: ...`). */
export function failureReason(message: string): string {
  let m = /^HTTP (\d{3})\b/.exec(message);
  if (m) return `http_${m[1]}`;
  m = /^gRPC ([A-Z_]+)\b/.exec(message);
  if (m) return `grpc_${m[1].toLowerCase()}`;
  if (/timed out/i.test(message)) return 'timeout';
  m = /^(E[A-Z_]+|UND_ERR_[A-Z_]+)\b/.exec(message);
  if (m) return m[1].toLowerCase();
  if (/certificate|tls|ssl/i.test(message)) return 'tls';
  return 'other';
}

/** The directory of one exporter's queue for one signal under the configured directory. */
export function queueDirectory(base: string, exporterId: string, signal: Signal): string {
  return path.join(base, exporterId.replace(/[^A-Za-z0-9._-]/g, '_'), signal);
}

/**
 * The Exporter half the OTLP exporters share: `consume` puts the batch in the
 * queue (in memory, or written to the persistent queue before it resolves) or,
 * with the queue disabled, sends it at once, retrying; consumers take batches from
 * the queue and send them; `shutdown` drains the in-memory queue until the
 * deadline and leaves a persistent queue's contents for the next start. Never
 * re-encodes: `send` takes the batch as is.
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
  private readonly persistentDir: string | undefined;
  private readonly bounds: QueueBounds;
  private readonly events: QueueEvents;

  private queue: SendQueue | undefined;
  private starting: Promise<void> | undefined;
  private readonly workers: Promise<void>[] = [];
  /** Synchronous (queue disabled) deliveries in flight. */
  private readonly inFlight = new Set<Promise<Outcome>>();
  /** Fired when shutdown begins: consumers stop waiting for new batches. */
  private readonly stopTaking = new AbortController();
  /** Aborted at the shutdown deadline: cancels requests in flight and retry waits. */
  private readonly abort = new AbortController();
  private readonly unregister: (() => void)[] = [];
  private closing = false;
  private deadline: number | undefined;
  private shutdownPromise: Promise<void> | undefined;

  private readonly countRefused: (n: number, a: Record<string, string>) => void;
  private readonly countRetries: (n: number, a: Record<string, string>) => void;
  private readonly countFailures: (n: number, a: Record<string, string>) => void;
  private readonly countCorrupt: (n: number, a: Record<string, string>) => void;
  private readonly countRecovered: (n: number, a: Record<string, string>) => void;

  constructor(opts: SenderOptions) {
    this.ctx = opts.ctx;
    this.signal = opts.signal;
    this.attrs = { component: opts.ctx.id, signal: opts.signal };
    this.queueCfg = opts.queue;
    this.retryCfg = opts.retry;
    this.destination = opts.destination;
    this.sendFn = opts.send;
    this.closeFn = opts.close;
    // Every request in flight listens on `abort` (with the queue disabled, one per incoming
    // request), and every idle consumer on `stopTaking` (num_consumers of them): Node's
    // warning about more than 10 listeners ("possible memory leak") would be a false alarm
    // in the relay's log. Each request and each wait removes its listener when it ends.
    setMaxListeners(0, this.abort.signal, this.stopTaking.signal);
    const t = this.ctx.telemetry;
    this.countRefused = t.counter('exporter_refused_items', 'Items an exporter did not take (queue full, storage error, shutting down); the sender was told to retry');
    this.countRetries = t.counter('exporter_retries', 'Export attempts that failed and were tried again');
    this.countFailures = t.counter('exporter_send_failures', 'Failed export attempts, by reason (http_503, grpc_unavailable, timeout, econnrefused, ...)');
    this.countCorrupt = t.counter('persistent_queue_corrupt_records', 'Damaged stretches of a persistent queue skipped while reading it');
    this.countRecovered = t.counter('persistent_queue_recovered_items', 'Items found pending in a persistent queue at start (sent again; those in flight at a crash may arrive twice)');
    const q = this.queueCfg;
    this.persistentDir = q.enabled && q.persistent.directory ? queueDirectory(workerDirectory(q.persistent.directory), this.ctx.id, this.signal) : undefined;
    this.bounds = {
      requests: q.queue_size,
      items: q.max_items,
      bytes: q.max_bytes,
      whenFull: q.when_full as WhenFull,
      retryAfterMs: Math.max(1000, this.retryCfg.initial_interval),
    };
    this.events = {
      dropped: (items, reason) => {
        this.ctx.telemetry.add('exporter_dropped_items', items, { ...this.attrs, reason });
        if (reason === 'queue_full') this.logDrop(items);
      },
      refused: (items, reason) => this.countRefused(items, { ...this.attrs, reason }),
      corrupt: (what) => {
        this.countCorrupt(1, this.attrs);
        this.ctx.logger.warn({ signal: this.signal, directory: this.persistentDir }, `persistent queue: skipped ${what}`);
      },
    };
    if (q.enabled && !this.persistentDir) {
      this.queue = new MemoryQueue(this.bounds, this.events, q.num_consumers);
      this.startWorkers();
    }
    if (this.persistentDir) notePersistentQueueConfigured();
  }

  /** Batches waiting in the queue (in memory: not those being sent; persistent: not yet acknowledged). */
  get queued(): number {
    return this.queue?.stats().requests ?? 0;
  }

  /** Opens a persistent queue (reading back what an earlier run left) and starts its consumers. */
  start(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    if (!this.persistentDir || this.queue) return;
    const p = this.queueCfg.persistent;
    let opened: { queue: PersistentQueue; fresh: boolean };
    try {
      opened = PersistentQueue.open(
        { directory: this.persistentDir, fsync: p.fsync as FsyncPolicy, fsyncIntervalMs: p.fsync_interval, segmentBytes: p.segment_size },
        this.bounds,
        this.signal,
        this.events,
      );
    } catch (e) {
      throw new Error(`${this.ctx.id}: cannot open the persistent queue in ${this.persistentDir}: ${(e as Error).message}`);
    }
    const { queue, fresh } = opened;
    this.queue = queue;
    if (fresh) {
      const r = queue.recovered;
      this.countRecovered(r.items, this.attrs);
      if (r.requests > 0 || queue.corruptAtOpen > 0)
        this.ctx.logger.info(
          { signal: this.signal, directory: this.persistentDir, requests: r.requests, items: r.items, damaged: queue.corruptAtOpen },
          `persistent queue: resuming ${r.items} ${this.signal} items left by an earlier run`,
        );
    }
    this.unregister.push(this.ctx.telemetry.gauge('persistent_queue_disk_bytes', 'Bytes of a persistent queue on disk', this.attrs, () => queue.diskBytes()));
    this.startWorkers();
  }

  private startWorkers(): void {
    const t = this.ctx.telemetry;
    const stats = () => this.queue?.stats() ?? { requests: 0, items: 0, bytes: 0 };
    this.unregister.push(
      t.gauge('exporter_queue_size', 'Batches (requests) in the sending queue', this.attrs, () => stats().requests),
      t.gauge('exporter_queue_capacity', 'Batches (requests) the sending queue holds at most', this.attrs, () => this.bounds.requests),
      t.gauge('exporter_queue_items', 'Items (log records, spans, data points) in the sending queue', this.attrs, () => stats().items),
      t.gauge('exporter_queue_bytes', 'Bytes in the sending queue (protobuf size; on disk, record size)', this.attrs, () => stats().bytes),
      t.gauge('exporter_queue_capacity_bytes', 'Bytes the sending queue holds at most (0: no bound)', this.attrs, () => this.bounds.bytes),
    );
    // Idle workers are only pending promises: they hold no timer or handle, so
    // they don't keep the process alive.
    for (let i = 0; i < this.queueCfg.num_consumers; i++) this.workers.push(this.work());
  }

  async consume(batch: Batch): Promise<void> {
    if (this.closing) {
      this.countRefused(batch.itemCount(), { ...this.attrs, reason: 'shutting_down' });
      throw new DeliveryError(`exporter ${this.ctx.id} is shutting down`, true, this.bounds.retryAfterMs);
    }
    if (batch.isEmpty()) return;
    if (this.persistentDir && !this.queue) await this.start();
    if (this.queue) return this.queue.offer(batch);
    const p = this.deliver(batch, false);
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
    this.stopTaking.abort();
    const timer = setTimeout(() => this.abort.abort(new Error('shutdown deadline reached')), Math.max(0, deadline - Date.now()));
    try {
      await Promise.all([...this.workers, ...this.inFlight]);
    } finally {
      clearTimeout(timer);
      this.abort.abort(new Error('exporter shut down'));
    }
    const lost = this.ctx.telemetry.total('exporter_failed_items', { ...this.attrs, reason: 'shutdown' });
    if (lost > 0) this.ctx.logger.warn({ signal: this.signal, destination: this.destination, items: lost }, `shutdown deadline reached: ${lost} items not delivered`);
    const q = this.queue;
    if (q?.persistent) {
      const left = q.stats();
      if (left.requests > 0)
        this.ctx.logger.info(
          { signal: this.signal, directory: this.persistentDir, requests: left.requests, items: left.items },
          `persistent queue: ${left.items} ${this.signal} items left on disk for the next start`,
        );
    }
    await q?.close();
    for (const u of this.unregister.splice(0)) u();
    await this.closeFn?.();
  }

  private async work(): Promise<void> {
    // Each round runs in its own call: a suspended async function keeps its locals, and
    // a consumer waiting in take() would otherwise hold on to the last request it sent
    // (up to 2 MiB each; with several consumers and exporters, most of the relay's memory
    // on large requests).
    while (await this.takeAndSend());
  }

  /** Takes the next batch (and those waiting behind it) and sends it; false when the consumer should stop. */
  private async takeAndSend(): Promise<boolean> {
    const q = this.queue!;
    // A persistent queue keeps what is not sent yet: at shutdown, take nothing more.
    if (this.closing && q.persistent) return false;
    const t = await q.take(this.stopTaking.signal);
    if (t === undefined) return false;
    // Batches already waiting behind this one go in the same request (memory queue only:
    // persistent entries are acknowledged one by one). Concatenated protobuf is one valid request.
    const more = q instanceof MemoryQueue ? q.takeWaiting(MERGE_MAX_ITEMS - t.items, MERGE_MAX_BYTES - t.batch.toProto().length) : [];
    const batch = more.length ? Batch.concat(t.batch.signal, [t.batch, ...more.map((m) => m.batch)]) : t.batch;
    const out = await this.deliver(batch, q.persistent);
    for (const x of [t, ...more]) {
      if (!out.ok && out.kept) q.release(x);
      else q.done(x);
    }
    return true;
  }

  /**
   * Sends one batch, retrying as configured. Never throws; counts and logs what happened.
   * From a persistent queue the batch is never given up for time (it stays on disk and
   * is retried until delivered), and at shutdown it is kept (`kept`) rather than lost.
   */
  private async deliver(batch: Batch, persistent: boolean): Promise<Outcome> {
    const items = batch.itemCount();
    const started = Date.now();
    const backoff = new Backoff(this.retryCfg);
    const abort = this.abort.signal;
    const keep = (): Outcome => ({ ok: false, retryable: true, message: 'kept in the persistent queue', kept: true });
    for (let attempt = 1; ; attempt++) {
      if (abort.aborted) return persistent ? keep() : this.lostAtShutdown(items);
      let err: ExportError;
      try {
        const res = await this.sendFn(batch, abort);
        this.succeeded(items, res);
        return { ok: true };
      } catch (e) {
        err = e instanceof ExportError ? e : new ExportError((e as Error)?.message ?? String(e), true);
      }
      if (abort.aborted) return persistent ? keep() : this.lostAtShutdown(items);
      this.countFailures(1, { ...this.attrs, reason: failureReason(err.message) });
      if (!err.retryable) {
        this.ctx.telemetry.add('exporter_dropped_items', items, { ...this.attrs, reason: 'non_retryable' });
        this.ctx.logger.error(
          { signal: this.signal, destination: this.destination, items, attempt },
          `dropping ${items} ${this.signal} items: non-retryable error from ${this.destination}: ${err.message}`,
        );
        return { ok: false, retryable: false, message: `non-retryable error: ${err.message}` };
      }
      if (persistent && this.closing) return keep();
      const now = Date.now();
      let wait = backoff.next();
      if (err.retryAfterMs !== undefined) wait = Math.max(wait, err.retryAfterMs);
      const max = this.retryCfg.max_elapsed_time;
      if (!this.retryCfg.enabled || (!persistent && max > 0 && now - started + wait > max)) {
        if (persistent) {
          // Retry disabled: the batch waits on disk for the next start rather than being lost.
          this.ctx.logger.warn({ signal: this.signal, destination: this.destination, items }, `export failed, kept in the persistent queue: ${err.message}`);
          return keep();
        }
        this.ctx.telemetry.add('exporter_failed_items', items, { ...this.attrs, reason: 'retries_exhausted' });
        this.ctx.logger.warn(
          { signal: this.signal, destination: this.destination, items, attempts: attempt },
          `giving up on ${items} ${this.signal} items after ${attempt} attempt(s): ${err.message}`,
        );
        return { ok: false, retryable: true, message: `export failed after ${attempt} attempt(s): ${err.message}`, retryAfterMs: err.retryAfterMs };
      }
      if (this.deadline !== undefined && now + wait >= this.deadline) return persistent ? keep() : this.lostAtShutdown(items);
      this.countRetries(1, this.attrs);
      this.ctx.logger.debug(
        { signal: this.signal, destination: this.destination, items, attempt, waitMs: wait },
        `export failed, will retry: ${err.message}`,
      );
      await sleep(wait, abort);
    }
  }

  private dropLogged = 0;

  /** One warning per 10 s at most while a drop policy discards data. */
  private logDrop(items: number): void {
    const now = Date.now();
    if (now - this.dropLogged < 10_000) return;
    this.dropLogged = now;
    this.ctx.logger.warn(
      { signal: this.signal, destination: this.destination, items, policy: this.queueCfg.when_full },
      `sending queue full: dropping ${this.signal} items (when_full: ${this.queueCfg.when_full}); see agentrelay_exporter_dropped_items_total`,
    );
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
