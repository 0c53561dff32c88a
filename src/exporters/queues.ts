// The sending queues an exporter's consumers take batches from: in memory, or
// persistent (a write-ahead log on disk, see persistent-queue.ts). Both are
// bounded by requests, items and bytes, and both apply the exporter's
// `when_full` policy when a batch does not fit:
//   refuse       the batch is not taken: DeliveryError (retryable), the receiver
//                answers with a retryable status and the sender tries again later;
//   drop_newest  the new batch is dropped and counted; the sender is told success;
//   drop_oldest  the oldest waiting batches are dropped (counted) to make room.
// A batch alone larger than the bounds is still taken when the queue is empty, so
// that one big request cannot be refused forever.
import * as path from 'node:path';
import { Batch } from '../otlp/batch';
import type { Signal } from '../otlp/schema';
import { DeliveryError } from '../pipeline/component';
import { WalCorruptError, WriteAheadLog, type FsyncPolicy, type WalEntry } from './persistent-queue';

export type WhenFull = 'refuse' | 'drop_newest' | 'drop_oldest';

export interface QueueBounds {
  /** Requests (batches). */
  requests: number;
  /** Items (log records, spans, data points); 0: no bound. */
  items: number;
  /** Bytes (protobuf size; on disk, the record size); 0: no bound. */
  bytes: number;
  whenFull: WhenFull;
  /** The wait suggested to a sender that is refused. */
  retryAfterMs: number;
}

/** What a queue reports to its exporter for counting and logging. */
export interface QueueEvents {
  dropped(items: number, reason: 'queue_full' | 'corrupt'): void;
  refused(items: number, reason: 'queue_full' | 'storage_error'): void;
  corrupt?(what: string): void;
}

export interface Taken {
  readonly batch: Batch;
  readonly items: number;
  readonly bytes: number;
}

export interface QueueStats {
  requests: number;
  items: number;
  bytes: number;
}

export interface SendQueue {
  readonly persistent: boolean;
  readonly bounds: QueueBounds;
  /** Holds the batch (durably, for a persistent queue) or throws a DeliveryError per the policy. */
  offer(batch: Batch): Promise<void>;
  /** The oldest waiting batch; waits for one unless `stop` has fired (then undefined when none is waiting). */
  take(stop: AbortSignal): Promise<Taken | undefined>;
  /** The batch was delivered or given up on: forget it. */
  done(t: Taken): void;
  /** The batch was not delivered (shutdown): keep it for a later take (persistent) or forget it (memory). */
  release(t: Taken): void;
  stats(): QueueStats;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------

/** A FIFO with O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /** The i-th waiting element (0: the oldest). */
  at(i: number): T | undefined {
    return this.items[this.head + i];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    (this.items as (T | undefined)[])[this.head] = undefined;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  /** Puts `x` back in the order given by `before` (rare: releases at shutdown). */
  insertSorted(x: T, before: (a: T, b: T) => boolean): void {
    const live = this.items.slice(this.head);
    let i = live.length;
    while (i > 0 && before(x, live[i - 1])) i--;
    live.splice(i, 0, x);
    this.items = live;
    this.head = 0;
  }
}

/** Parked take() calls, woken one per new batch. */
class Waiters {
  private readonly list: (() => void)[] = [];

  wait(stop: AbortSignal): Promise<void> {
    if (stop.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        stop.removeEventListener('abort', onStop);
        resolve();
      };
      const onStop = () => {
        const i = this.list.indexOf(wake);
        if (i >= 0) this.list.splice(i, 1);
        resolve();
      };
      this.list.push(wake);
      stop.addEventListener('abort', onStop, { once: true });
    });
  }

  wakeOne(): void {
    this.list.shift()?.();
  }

  get count(): number {
    return this.list.length;
  }
}

function fits(b: QueueBounds, cur: QueueStats, items: number, bytes: number): boolean {
  if (cur.requests === 0) return true;
  if (cur.requests + 1 > b.requests) return false;
  if (b.items > 0 && cur.items + items > b.items) return false;
  if (b.bytes > 0 && cur.bytes + bytes > b.bytes) return false;
  return true;
}

function fullError(b: QueueBounds, cur: QueueStats, what: string): DeliveryError {
  return new DeliveryError(
    `${what} is full (${cur.requests} requests, ${cur.items} items, ${cur.bytes} bytes waiting): try again later`,
    true,
    b.retryAfterMs,
  );
}

// ---------------------------------------------------------------------------
// In memory

interface MemTaken extends Taken {
  readonly batch: Batch;
}

/**
 * Bounds of one request made of several waiting batches: below the 4 MiB that gRPC
 * receivers (ours and the Collector's) accept by default, and the Collector's batch size.
 */
export const MERGE_MAX_ITEMS = 8192;
export const MERGE_MAX_BYTES = 2 * 1024 * 1024;

/**
 * How long batches wait for a request in flight before another consumer takes them: it
 * caps the wait when the backend is slow or the request in flight is retrying.
 */
export const LINGER_MS = 20;

/**
 * Counts only waiting batches: those being sent are bounded by the number of consumers.
 *
 * Consumers are woken the way Nagle's algorithm sends packets: when no consumer is
 * sending, the batches that arrived during the current event-loop turn go out at once,
 * as one request (woken by setImmediate, not per batch: well under a millisecond). While
 * a request is in flight, new batches wait for it to finish and then go out together.
 * Another consumer starts at once for a full request's worth (MERGE_MAX_ITEMS or
 * MERGE_MAX_BYTES) or when the queue is half full by any of its bounds, and after
 * LINGER_MS for whatever waits: a slow or retrying backend still gets up to `consumers`
 * requests at a time and new data does not wait on a retry. An outgoing request costs
 * several times what an incoming one does, so under load this is most of what the relay
 * saves; the wait it adds is at most one backend round trip, and never more than LINGER_MS.
 */
export class MemoryQueue implements SendQueue {
  readonly persistent = false;
  private readonly q = new Fifo<MemTaken>();
  private readonly waiters = new Waiters();
  private readonly cur: QueueStats = { requests: 0, items: 0, bytes: 0 };
  private wakeScheduled = false;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    readonly bounds: QueueBounds,
    private readonly events: QueueEvents,
    /** The consumers that take from this queue (num_consumers). */
    private readonly consumers = 1,
  ) {}

  private scheduleWake(): void {
    if (this.wakeScheduled || this.waiters.count === 0) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake(false);
    });
  }

  /** Wakes parked consumers for the waiting batches; `all`: whatever waits, in flight or not. */
  private wake(all: boolean): void {
    if (this.waiters.count === 0 || this.q.length === 0) return;
    const { full, partial } = this.requestsWaiting(this.waiters.count);
    const sending = this.consumers - this.waiters.count;
    const now = all || sending <= 0 || this.halfFull();
    const wanted = now ? full + partial : full;
    for (let n = Math.min(this.waiters.count, wanted); n > 0; n--) this.waiters.wakeOne();
    if (!now && partial > 0 && this.linger === undefined) {
      this.linger = setTimeout(() => {
        this.linger = undefined;
        this.wake(true);
      }, LINGER_MS);
      this.linger.unref();
    }
  }

  private halfFull(): boolean {
    const b = this.bounds;
    const c = this.cur;
    return c.requests * 2 >= b.requests || (b.items > 0 && c.items * 2 >= b.items) || (b.bytes > 0 && c.bytes * 2 >= b.bytes);
  }

  /**
   * The merged requests the waiting batches make: full ones (at a merge bound) and the
   * last, partial one. Counting stops at `enough` full ones.
   */
  private requestsWaiting(enough: number): { full: number; partial: number } {
    let full = 0;
    let items = 0;
    let bytes = 0;
    for (let i = 0; i < this.q.length && full < enough; i++) {
      const t = this.q.at(i)!;
      const size = t.batch.toProto().length;
      if (items > 0 && (items + t.items > MERGE_MAX_ITEMS || bytes + size > MERGE_MAX_BYTES)) {
        full++;
        items = 0;
        bytes = 0;
      }
      items += t.items;
      bytes += size;
    }
    if (full >= enough) return { full, partial: 0 };
    if (items >= MERGE_MAX_ITEMS || bytes >= MERGE_MAX_BYTES) return { full: full + 1, partial: 0 };
    return { full, partial: items > 0 ? 1 : 0 };
  }

  async offer(batch: Batch): Promise<void> {
    const items = batch.itemCount();
    // The protobuf size is cached on the batch and shared with the exporters that send protobuf.
    const bytes = this.bounds.bytes > 0 ? batch.toProto().length : 0;
    if (!fits(this.bounds, this.cur, items, bytes)) {
      if (this.bounds.whenFull === 'refuse') {
        this.events.refused(items, 'queue_full');
        throw fullError(this.bounds, this.cur, 'sending queue');
      }
      if (this.bounds.whenFull === 'drop_newest') {
        this.events.dropped(items, 'queue_full');
        return;
      }
      while (this.cur.requests > 0 && !fits(this.bounds, this.cur, items, bytes)) {
        const old = this.q.shift()!;
        this.sub(old);
        this.events.dropped(old.items, 'queue_full');
      }
    }
    batch.compact();
    this.q.push({ batch, items, bytes });
    this.cur.requests++;
    this.cur.items += items;
    this.cur.bytes += bytes;
    this.scheduleWake();
  }

  async take(stop: AbortSignal): Promise<Taken | undefined> {
    for (;;) {
      const t = this.q.shift();
      if (t) {
        this.sub(t);
        return t;
      }
      if (stop.aborted) return undefined;
      await this.waiters.wait(stop);
    }
  }

  /**
   * Batches already waiting, taken at once while they fit `maxItems` and `maxBytes`
   * (protobuf size): a consumer sends them as one request. Under load this turns many
   * small agent requests into few large ones, without adding any wait.
   */
  takeWaiting(maxItems: number, maxBytes: number): Taken[] {
    const out: MemTaken[] = [];
    for (;;) {
      const next = this.q.peek();
      if (!next || next.items > maxItems) break;
      const bytes = next.batch.toProto().length;
      if (bytes > maxBytes) break;
      this.q.shift();
      this.sub(next);
      out.push(next);
      maxItems -= next.items;
      maxBytes -= bytes;
    }
    return out;
  }

  done(): void {
    // Nothing held once taken.
  }

  release(): void {
    // An in-memory batch not delivered at shutdown is lost; the exporter counts it.
  }

  stats(): QueueStats {
    return { ...this.cur };
  }

  async close(): Promise<void> {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
  }

  private sub(t: Taken): void {
    this.cur.requests--;
    this.cur.items -= t.items;
    this.cur.bytes -= t.bytes;
  }
}

// ---------------------------------------------------------------------------
// On disk

export interface PersistentOptions {
  /** The queue's own directory (one per exporter id and signal). */
  directory: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytes: number;
}

interface DiskTaken extends Taken {
  readonly entry: WalEntry;
}

/**
 * The log and its pending index, shared by every handle on one directory in this
 * process: a reloaded config opens the new exporter's queue while the old one is
 * still shutting down, and both must see the same records.
 */
class DiskQueueCore {
  refs = 0;
  readonly pending = new Fifo<WalEntry>();
  readonly inFlight = new Map<number, WalEntry>();
  /** Pending + in flight + being written. */
  readonly cur: QueueStats = { requests: 0, items: 0, bytes: 0 };
  readonly waiters = new Waiters();
  /** Records found at open. */
  readonly recovered: { requests: number; items: number };

  constructor(readonly wal: WriteAheadLog, readonly dir: string) {
    let items = 0;
    for (const e of wal.pending()) {
      this.pending.push(e);
      this.cur.requests++;
      this.cur.items += e.items;
      this.cur.bytes += e.size;
      items += e.items;
    }
    this.recovered = { requests: this.cur.requests, items };
  }

  forget(e: WalEntry): void {
    this.cur.requests--;
    this.cur.items -= e.items;
    this.cur.bytes -= e.size;
    this.wal.ack([e.seq]);
  }
}

const cores = new Map<string, DiskQueueCore>();
let persistentConfigured = 0;

/** Exporters of this process set up with a persistent queue (the batch processor's `acknowledge: auto` looks). */
export function persistentQueuesConfigured(): number {
  return persistentConfigured;
}

export function notePersistentQueueConfigured(): void {
  persistentConfigured++;
}

export class PersistentQueue implements SendQueue {
  readonly persistent = true;
  private readonly core: DiskQueueCore;
  private closed = false;

  private constructor(
    core: DiskQueueCore,
    readonly bounds: QueueBounds,
    private readonly signal: Signal,
    private readonly events: QueueEvents,
  ) {
    this.core = core;
  }

  /**
   * Opens the queue in its directory (reading back what is pending) or joins the
   * handle already open on it in this process. `fresh` is true for the first opener,
   * which reports what was recovered.
   */
  static open(opts: PersistentOptions, bounds: QueueBounds, signal: Signal, events: QueueEvents): { queue: PersistentQueue; fresh: boolean } {
    const dir = path.resolve(opts.directory);
    let core = cores.get(dir);
    const fresh = !core;
    if (!core) {
      const wal = WriteAheadLog.open({
        directory: dir,
        fsync: opts.fsync,
        fsyncIntervalMs: opts.fsyncIntervalMs,
        segmentBytes: opts.segmentBytes,
        onCorrupt: (file, offset, what) => events.corrupt?.(`${what} in ${path.basename(file)} at byte ${offset}`),
      });
      core = new DiskQueueCore(wal, dir);
      cores.set(dir, core);
    }
    core.refs++;
    return { queue: new PersistentQueue(core, bounds, signal, events), fresh };
  }

  get recovered(): { requests: number; items: number } {
    return this.core.recovered;
  }

  get corruptAtOpen(): number {
    return this.core.wal.corrupt;
  }

  diskBytes(): number {
    return this.core.wal.diskBytes();
  }

  async offer(batch: Batch): Promise<void> {
    if (this.closed) throw new DeliveryError('persistent queue is closed', true, this.bounds.retryAfterMs);
    const core = this.core;
    const items = batch.itemCount();
    const proto = batch.toProto();
    const metaBytes = Object.keys(batch.metadata).length ? Buffer.byteLength(JSON.stringify(batch.metadata)) : 0;
    const size = WriteAheadLog.recordSize(proto.length, metaBytes);
    if (!fits(this.bounds, core.cur, items, size)) {
      if (this.bounds.whenFull === 'refuse') {
        this.events.refused(items, 'queue_full');
        throw fullError(this.bounds, core.cur, 'persistent sending queue');
      }
      if (this.bounds.whenFull === 'drop_newest') {
        this.events.dropped(items, 'queue_full');
        return;
      }
      while (core.pending.length > 0 && !fits(this.bounds, core.cur, items, size)) {
        const old = core.pending.shift()!;
        core.forget(old);
        this.events.dropped(old.items, 'queue_full');
      }
    }
    core.cur.requests++;
    core.cur.items += items;
    core.cur.bytes += size;
    try {
      const entry = await core.wal.append({ signal: this.signal, items, metadata: batch.metadata, proto });
      core.pending.push(entry);
    } catch (e) {
      core.cur.requests--;
      core.cur.items -= items;
      core.cur.bytes -= size;
      this.events.refused(items, 'storage_error');
      throw new DeliveryError(`persistent sending queue cannot write: ${(e as Error).message}`, true, this.bounds.retryAfterMs);
    }
    core.waiters.wakeOne();
  }

  async take(stop: AbortSignal): Promise<Taken | undefined> {
    const core = this.core;
    for (;;) {
      if (this.closed) return undefined;
      const entry = core.pending.shift();
      if (!entry) {
        if (stop.aborted) return undefined;
        await core.waiters.wait(stop);
        continue;
      }
      core.inFlight.set(entry.seq, entry);
      let batch: Batch;
      try {
        const rec = await core.wal.read(entry);
        if (rec.signal !== this.signal) throw new WalCorruptError(`record ${entry.seq} holds ${rec.signal}, not ${this.signal}`);
        batch = Batch.fromProto(rec.signal, rec.proto);
        if (Object.keys(rec.metadata).length) batch.metadata = Object.freeze(rec.metadata);
      } catch (e) {
        core.inFlight.delete(entry.seq);
        core.forget(entry);
        this.events.corrupt?.((e as Error).message);
        this.events.dropped(entry.items, 'corrupt');
        continue;
      }
      const t: DiskTaken = { batch, items: entry.items, bytes: entry.size, entry };
      return t;
    }
  }

  done(t: Taken): void {
    const e = (t as DiskTaken).entry;
    if (!this.core.inFlight.delete(e.seq)) return;
    this.core.forget(e);
  }

  release(t: Taken): void {
    const e = (t as DiskTaken).entry;
    if (!this.core.inFlight.delete(e.seq)) return;
    this.core.pending.insertSorted(e, (a, b) => a.seq < b.seq);
    this.core.waiters.wakeOne();
  }

  stats(): QueueStats {
    return { ...this.core.cur };
  }

  /** Leaves what is pending on disk; the last handle closes the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const core = this.core;
    if (--core.refs > 0) return;
    cores.delete(core.dir);
    await core.wal.close();
  }
}
