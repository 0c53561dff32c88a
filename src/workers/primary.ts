// The primary process when service.workers is above 1. It runs no pipeline: it forks the
// workers (node:cluster, so they share the receivers' ports: the primary accepts each
// connection and hands it to a worker in turn), serves /healthz, /readyz and /metrics (each
// worker's series, labelled with its index), passes stop and reload on, and replaces a
// worker that dies.
import cluster, { type Worker } from 'node:cluster';
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import type { RelayConfig } from '../config/load';
import { loggerFor } from '../telemetry/logger';
import { healthRoutes, telemetryEndpoints, type HttpEndpoint } from '../telemetry/health';
import { WORKER_INDEX_ENV } from './identity';
import { labelByWorker } from './metrics-by-worker';
import { type FromWorker, type ToWorker } from './messages';

/** A worker that dies sooner than this after its start counts toward a crash loop. */
const QUICK_EXIT_MS = 10_000;
/** Quick deaths in a row after which the primary gives up and exits. */
const MAX_QUICK_EXITS = 5;
/** How long /metrics waits for the workers' answers. */
const METRICS_WAIT_MS = 2000;
/**
 * A ready worker that has not answered a ping for this long is stuck (its event loop does
 * not turn) and is replaced. A single process stuck so fails its /healthz, and the
 * orchestrator restarts it; behind the primary's /healthz a worker needs this instead.
 * The variable is for tests.
 */
const STUCK_MS = Number(process.env.AGENTRELAY_WORKER_STUCK_MS) || 30_000;

interface Slot {
  index: number;
  worker: Worker;
  startedAt: number;
  ready: boolean;
  quickExits: number;
  /** When the worker last showed its event loop turns (ready, or answered a ping). */
  heardAt: number;
}

export class Primary {
  private readonly logger: Logger;
  private readonly slots = new Map<number, Slot>();
  private readonly endpoints: HttpEndpoint[] = [];
  private stopping?: Promise<number>;
  /** Set once every worker has been ready: before that, a worker's death is a failed start. */
  private started = false;
  private failedStart?: (err: Error) => void;
  private pendingMetrics = new Map<number, (text: string) => void>();
  private nextRequest = 0;
  private exitCode = 0;

  constructor(private readonly cfg: RelayConfig) {
    const t = cfg.telemetry;
    this.logger = loggerFor(t.logs).child({ role: 'primary' });
    const health = healthRoutes(() => this.state());
    const metricsRoute = {
      '/metrics': (_req: unknown, res: import('node:http').ServerResponse) => {
        void this.metricsText().then((text) => {
          res.statusCode = 200;
          res.setHeader('Content-Type', 'text/plain; version=0.0.4');
          res.end(text);
        });
      },
    };
    this.endpoints.push(...telemetryEndpoints(t.health.endpoint, t.metrics.address, health, metricsRoute));
  }

  /**
   * Starting until every worker is ready once; then ready while any worker takes data, so
   * one being replaced does not take the relay out of rotation.
   */
  private state(): 'starting' | 'ready' | 'stopping' {
    if (this.stopping) return 'stopping';
    if (!this.started) return 'starting';
    return [...this.slots.values()].some((s) => s.ready) ? 'ready' : 'starting';
  }

  /** Forks the workers and resolves when every one is ready; rejects if one fails to start. */
  async start(): Promise<void> {
    for (const e of this.endpoints) await e.start();
    this.watchdog = setInterval(() => this.checkAlive(), Math.min(2000, STUCK_MS / 3));
    this.watchdog.unref();
    const allReady = new Promise<void>((resolve, reject) => {
      this.failedStart = reject;
      this.onAllReady = resolve;
    });
    for (let i = 0; i < this.cfg.workers; i++) this.fork(i, 0);
    await allReady;
    this.started = true;
    this.logger.info({ workers: this.cfg.workers }, 'all workers ready');
  }

  private onAllReady?: () => void;
  private watchdog?: NodeJS.Timeout;

  /** Pings the ready workers; one silent for STUCK_MS is killed, and replaced as any dead worker is. */
  private checkAlive(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const s of this.slots.values()) {
      if (!s.ready) continue;
      if (now - s.heardAt > STUCK_MS) {
        this.logger.error({ worker: s.index, pid: s.worker.process.pid, silentMs: now - s.heardAt }, 'worker stuck: its event loop has not answered; killing it');
        s.ready = false;
        s.worker.process.kill('SIGKILL');
      } else this.send(s.worker, { t: 'ping' });
    }
  }

  private fork(index: number, quickExits: number): void {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    // Sending to a worker whose channel has just closed is reported as an 'error' event;
    // unhandled, it would end the primary. The worker's 'exit' says what happened.
    worker.on('error', (err) => this.logger.debug({ worker: index, err: err.message }, 'worker channel error'));
    const slot: Slot = { index, worker, startedAt: Date.now(), ready: false, quickExits, heardAt: Date.now() };
    this.slots.set(index, slot);
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('exit', (code, signal) => this.onExit(slot, code, signal));
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    slot.heardAt = Date.now();
    if (m?.t === 'ready') {
      slot.ready = true;
      this.logger.debug({ worker: slot.index, pid: slot.worker.process.pid }, 'worker ready');
      if (!this.started && [...this.slots.values()].every((s) => s.ready)) this.onAllReady?.();
    } else if (m?.t === 'metrics') {
      this.pendingMetrics.get(m.id)?.(m.text);
    }
  }

  private onExit(slot: Slot, code: number | null, signal: string | null): void {
    if (this.slots.get(slot.index) !== slot) return;
    slot.ready = false;
    if (this.stopping) {
      if (code !== 0) this.exitCode = 1;
      return;
    }
    if (!this.started) {
      this.failedStart?.(new Error(`worker ${slot.index} exited during start (code ${code}, signal ${signal})`));
      return;
    }
    const quick = Date.now() - slot.startedAt < QUICK_EXIT_MS ? slot.quickExits + 1 : 0;
    this.logger.error({ worker: slot.index, code, signal, quickExits: quick }, 'worker exited; starting another');
    if (quick >= MAX_QUICK_EXITS) {
      this.logger.fatal({ worker: slot.index }, `a worker died ${MAX_QUICK_EXITS} times in a row within ${QUICK_EXIT_MS / 1000} s of its start; stopping`);
      this.exitCode = 1;
      void this.stop().then((c) => process.exit(c));
      return;
    }
    const delay = Math.min(5000, 250 * quick);
    setTimeout(() => {
      if (!this.stopping) this.fork(slot.index, quick);
    }, delay);
  }

  /** Every worker's /metrics, labelled by worker; a worker that does not answer in time is left out. */
  private async metricsText(): Promise<string> {
    const live = [...this.slots.values()].filter((s) => s.ready && s.worker.isConnected());
    const answers = await Promise.all(
      live.map(
        (s) =>
          new Promise<string>((resolve) => {
            const id = ++this.nextRequest;
            const timer = setTimeout(() => done(''), METRICS_WAIT_MS);
            const done = (text: string) => {
              clearTimeout(timer);
              this.pendingMetrics.delete(id);
              resolve(text);
            };
            this.pendingMetrics.set(id, done);
            this.send(s.worker, { t: 'metrics', id });
          }),
      ),
    );
    const texts: (string | undefined)[] = [];
    live.forEach((s, i) => (texts[s.index] = answers[i]));
    const workers = `# HELP agentrelay_workers Worker processes running the pipelines\n# TYPE agentrelay_workers gauge\nagentrelay_workers ${live.length}\n`;
    return labelByWorker(texts) + workers;
  }

  /** A worker whose channel is closed is exiting, or gone: its 'exit' handler deals with it. */
  private send(worker: Worker, m: ToWorker): void {
    if (worker.isConnected()) worker.send(m);
  }

  /** SIGHUP (or --watch): every worker reloads the config file. */
  reload(why: string): void {
    this.logger.info({ reason: why }, 'reloading the config in every worker');
    // By message: a worker still starting has no SIGHUP handler yet, and the signal would end it.
    for (const s of this.slots.values()) this.send(s.worker, { t: 'reload' });
  }

  /**
   * Asks every worker to drain and stop, waits for them, then closes the
   * endpoints. Resolves to the exit code: 1 if a worker did not stop cleanly.
   */
  stop(): Promise<number> {
    if (this.stopping) return this.stopping;
    if (this.watchdog) clearInterval(this.watchdog);
    this.stopping = (async () => {
      const exits = [...this.slots.values()]
        .filter((s) => s.worker.process.exitCode === null && s.worker.process.signalCode === null)
        .map((s) => new Promise<void>((resolve) => {
          s.worker.once('exit', () => resolve());
          this.send(s.worker, { t: 'stop' });
        }));
      // Workers give up draining after shutdown_timeout; past a margin on that, they are killed.
      const limit = setTimeout(() => {
        for (const s of this.slots.values()) if (s.worker.process.exitCode === null) s.worker.process.kill('SIGKILL');
        this.exitCode = 1;
      }, this.cfg.telemetry.shutdown_timeout + 5000);
      await Promise.all(exits);
      clearTimeout(limit);
      for (const e of this.endpoints) await e.stop();
      return this.exitCode;
    })();
    return this.stopping;
  }

  /** A second SIGTERM or SIGINT: the workers exit without draining. */
  hurry(): void {
    for (const s of this.slots.values()) this.send(s.worker, { t: 'hurry' });
  }

  get log(): Logger {
    return this.logger;
  }
}

/** Runs the primary until it is stopped; the CLI's `run` for service.workers above 1. */
export async function runPrimary(configFile: string, cfg: RelayConfig, watch: boolean, hash: (f: string) => string | undefined): Promise<number> {
  let loadedHash = hash(configFile);
  const primary = new Primary(cfg);
  const reload = (why: string) => {
    loadedHash = hash(configFile);
    primary.reload(why);
  };
  let signals = 0;
  const onSignal = (sig: string) => {
    if (++signals > 1) {
      primary.log.warn({ signal: sig }, 'second signal: workers exit without draining');
      primary.hurry();
      return;
    }
    primary.log.info({ signal: sig }, 'signal received; stopping the workers');
    void primary.stop().then((code) => process.exit(code));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGHUP', () => reload('SIGHUP'));
  try {
    await primary.start();
  } catch (e) {
    primary.log.fatal({ err: (e as Error).message }, 'cannot start');
    await primary.stop();
    return 1;
  }
  if (watch) {
    fs.watchFile(configFile, { interval: 1000 }, () => {
      const h = hash(configFile);
      if (h !== undefined && h !== loadedHash) reload('file changed');
    });
  }
  return -1;
}
