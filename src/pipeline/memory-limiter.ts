// The memory limiter receivers consult before taking a request: above a soft limit
// new data is refused with a retryable status (the sender backs off and tries
// again), so a flood fills the senders' buffers instead of this process's heap;
// while above it, a garbage collection is forced now and then (spaced out) so that
// garbage does not keep the receiver refusing. Like the Collector's
// memory_limiter: hard limit = limit, soft limit = limit - spike limit.
//
// Two measures, each with its own limit:
//   - the V8 heap (heapUsed) against limit_percentage of V8's own heap limit:
//     passing that limit is what crashes a Node process with "out of memory";
//   - when limit_mib is set, heap plus buffers (heapUsed + external), for a
//     container's memory limit: request bodies and queued batches live in buffers.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { Logger } from 'pino';
import { s, type SchemaType } from '../config/schema';
import type { Telemetry } from '../telemetry/metrics';

export const memoryLimiterSchema = s.object(
  {
    enabled: s.bool({ default: true }),
    /** How often memory is measured while no request comes (each request also measures: it is cheap). */
    check_interval: s.duration({ default: '200ms' }),
    /** Hard limit of heap + buffers in MiB; 0: only the heap percentage applies. */
    limit_mib: s.number({ default: 0, min: 0 }),
    /** Soft limit = limit_mib - spike_limit_mib; 0: 20% of limit_mib. */
    spike_limit_mib: s.number({ default: 0, min: 0 }),
    /** Hard limit of the V8 heap, in percent of V8's heap limit (--max-old-space-size). */
    limit_percentage: s.number({ default: 75, min: 1, max: 100 }),
    /** Soft heap limit = limit_percentage - spike_limit_percentage. */
    spike_limit_percentage: s.number({ default: 25, min: 0, max: 99 }),
    /** The wait suggested to refused senders (Retry-After, RetryInfo). */
    retry_after: s.duration({ default: '2s' }),
  },
  {
    validate(v, path, ctx) {
      if (v.limit_mib > 0 && v.spike_limit_mib >= v.limit_mib)
        ctx.issues.push({ path: [...path, 'spike_limit_mib'], severity: 'error', message: 'must be less than limit_mib' });
      if (v.spike_limit_percentage >= v.limit_percentage)
        ctx.issues.push({ path: [...path, 'spike_limit_percentage'], severity: 'error', message: 'must be less than limit_percentage' });
    },
  },
);

export type MemoryLimiterConfig = SchemaType<typeof memoryLimiterSchema>;

const MIB = 1024 * 1024;
/** Forced collections are expensive on a big heap: at most one per this many ms. */
const GC_INTERVAL_MS = 2000;

export interface MemoryReading {
  heapUsed: number;
  external: number;
}

/** V8's own statistics: no system call, cheap enough for every request. */
function readHeap(): MemoryReading {
  const h = v8.getHeapStatistics();
  return { heapUsed: h.used_heap_size, external: h.external_memory };
}

let forceGc: (() => void) | null | undefined;

/** The engine's gc() when it can be had (exposed at run time the first time a hard limit is passed). */
function gcFunction(): (() => void) | null {
  if (forceGc !== undefined) return forceGc;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (forceGc = g);
  try {
    v8.setFlagsFromString('--expose-gc');
    forceGc = vm.runInNewContext('gc') as () => void;
  } catch {
    forceGc = null;
  }
  return forceGc;
}

export class MemoryLimiter {
  readonly heapSoft: number;
  readonly heapHard: number;
  readonly totalSoft: number;
  readonly totalHard: number;
  private limited = false;
  private lastCheck = 0;
  private lastGc = 0;
  private gcMs = 0;
  private timer?: NodeJS.Timeout;
  private last: MemoryReading = { heapUsed: 0, external: 0 };
  private readonly unregister: (() => void)[] = [];

  constructor(
    private readonly cfg: MemoryLimiterConfig,
    private readonly logger: Logger,
    telemetry: Telemetry,
    component: string,
    /** Where readings come from; the process itself unless a test drives it. */
    private readonly measure: () => MemoryReading = readHeap,
    heapLimit = v8.getHeapStatistics().heap_size_limit,
  ) {
    this.heapHard = (heapLimit * cfg.limit_percentage) / 100;
    this.heapSoft = (heapLimit * (cfg.limit_percentage - cfg.spike_limit_percentage)) / 100;
    this.totalHard = cfg.limit_mib > 0 ? cfg.limit_mib * MIB : Infinity;
    this.totalSoft = cfg.limit_mib > 0 ? (cfg.limit_mib - (cfg.spike_limit_mib || cfg.limit_mib * 0.2)) * MIB : Infinity;
    if (cfg.enabled) {
      const attrs = { component };
      this.unregister.push(
        telemetry.gauge('memory_limiter_heap_bytes', 'V8 heap in use, as the memory limiter last measured it', attrs, () => this.last.heapUsed),
        telemetry.gauge('memory_limiter_heap_soft_limit_bytes', 'Heap in use above which the receiver refuses new data', attrs, () => this.heapSoft),
        telemetry.gauge('memory_limiter_refusing', '1 while the memory limiter refuses new data', attrs, () => (this.limited ? 1 : 0)),
      );
    }
  }

  start(): void {
    if (!this.cfg.enabled || this.timer) return;
    this.timer = setInterval(() => this.check(), this.cfg.check_interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unregister.splice(0)) u();
  }

  get retryAfterMs(): number {
    return this.cfg.retry_after;
  }

  /** True while new data must be refused. Measures again: a flood can grow the heap between two timer checks. */
  refusing(): boolean {
    if (!this.cfg.enabled) return false;
    this.check();
    return this.limited;
  }

  /** Measures and updates the state; forces a collection above the hard limit. */
  check(): void {
    this.lastCheck = Date.now();
    let m = this.read();
    // While refusing, little is allocated, so V8 may not collect on its own for a
    // long time: a forced collection tells garbage from data still held. Spaced so
    // that a big heap's collection (it blocks) takes a small share of the time.
    if ((this.overHard(m) || this.overSoft(m)) && this.lastCheck - this.lastGc >= Math.max(GC_INTERVAL_MS, 20 * this.gcMs)) {
      const gc = gcFunction();
      if (gc) {
        const t0 = Date.now();
        gc();
        this.gcMs = Date.now() - t0;
        this.lastGc = Date.now();
        m = this.read();
      }
    }
    const over = this.overSoft(m);
    if (over !== this.limited) {
      this.limited = over;
      const mib = (n: number) => Math.round(n / MIB);
      const fields = { heap_mib: mib(m.heapUsed), external_mib: mib(m.external), heap_soft_limit_mib: mib(this.heapSoft) };
      if (over) this.logger.warn(fields, 'memory limiter: memory use is above the soft limit, refusing new data until it falls');
      else this.logger.info(fields, 'memory limiter: memory use is below the soft limit again, taking data');
    }
  }

  private read(): MemoryReading {
    const m = this.measure();
    this.last = { heapUsed: m.heapUsed, external: m.external };
    return this.last;
  }

  private overSoft(m: MemoryReading): boolean {
    return m.heapUsed > this.heapSoft || m.heapUsed + m.external > this.totalSoft;
  }

  private overHard(m: MemoryReading): boolean {
    return m.heapUsed > this.heapHard || m.heapUsed + m.external > this.totalHard;
  }
}
