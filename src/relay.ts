// One running relay: config -> logger, own telemetry, health endpoint, receivers and
// the pipeline graph behind them. Stop is graceful: readiness goes false, receivers
// stop taking data, pipelines drain and exporters flush, all within
// service.telemetry.shutdown_timeout.
//
// Hot reload (reload()): the new config's graph is built and started next to the
// running one; receivers whose settings did not change keep their listeners and are
// switched over to it; the old graph then drains (requests in flight finish, batch
// processors flush, exporters deliver what they queued) and stops. A config that
// fails validation, or a graph that cannot start, is rejected and the old pipelines
// keep running untouched.
import type { Logger } from 'pino';
import type { LoadResult, RelayConfig } from './config/load';
import { Graph, type TapPoint } from './pipeline/graph';
import { DeliveryError, type Consumer, type Receiver } from './pipeline/component';
import type { Signal } from './otlp/schema';
import { Telemetry } from './telemetry/metrics';
import { healthRoutes, telemetryEndpoints, type HttpEndpoint } from './telemetry/health';
import { loggerFor } from './telemetry/logger';
import { TapHub } from './tap/hub';
import { TapServer } from './tap/server';

/** A config's graph and the requests currently inside it. */
interface Generation {
  cfg: RelayConfig;
  graph: Graph;
  points: TapPoint[];
  inflight: number;
  idle?: () => void;
}

interface RunningReceiver {
  id: string;
  /** Type and checked settings: equal fingerprints mean the listener can stay. */
  fingerprint: string;
  r: Receiver;
}

export interface ReloadResult {
  ok: boolean;
  /** Why a reload was rejected (validation errors, or what failed to start). */
  errors: string[];
}

export class Relay {
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  private gen: Generation;
  private receivers = new Map<string, RunningReceiver>();
  private readonly gates = new Map<string, Consumer>();
  private readonly endpoints: HttpEndpoint[] = [];
  private readonly hub = new TapHub();
  private tap?: TapServer;
  private state: 'starting' | 'ready' | 'stopping' = 'starting';
  private stopping?: Promise<void>;
  /** Set while a reload hands persistent queues over: requests wait for it, then go to the new graph. */
  private paused?: Promise<void>;
  /** Reloads run one at a time, in the order asked. */
  private reloads: Promise<unknown> = Promise.resolve();
  private readonly reloadCounter: (n: number, attrs: { result: string }) => void;

  constructor(cfg: RelayConfig, logger?: Logger) {
    const t = cfg.telemetry;
    this.logger = logger ?? loggerFor(t.logs);
    this.telemetry = new Telemetry({
      otlpEndpoint: t.metrics.otlp.endpoint || undefined,
      otlpIntervalMs: t.metrics.otlp.interval,
      otlpHeaders: t.metrics.otlp.headers,
    });
    this.reloadCounter = this.telemetry.counter('config_reloads', 'Config reloads (SIGHUP or file watch), by result: applied or rejected');
    this.gen = this.buildGeneration(cfg);
    const health = healthRoutes(() => this.state);
    const metricsRoute = { '/metrics': this.telemetry.serveMetrics.bind(this.telemetry) };
    this.endpoints.push(...telemetryEndpoints(t.health.endpoint, t.metrics.address, health, metricsRoute));
  }

  private get cfg(): RelayConfig {
    return this.gen.cfg;
  }

  private buildGeneration(cfg: RelayConfig): Generation {
    const points: TapPoint[] = [];
    // Without a tap listener nothing can watch, so the hand-overs are left unwrapped.
    const observe = cfg.telemetry.tap.endpoint ? this.hub.observer(points) : undefined;
    const graph = new Graph(cfg, this.logger, this.telemetry, { receivers: false, observe });
    for (const id of cfg.receivers.keys())
      for (const signal of graph.inputsOf(id)?.keys() ?? []) points.push({ component: id, kind: 'receiver', pipeline: '', signal });
    return { cfg, graph, points, inflight: 0 };
  }

  start(): Promise<void> {
    this.starting ??= this.startAll();
    return this.starting;
  }

  /** Set by start(): a stop that comes while starting waits for it, so no receiver is left running. */
  private starting?: Promise<void>;

  private async startAll(): Promise<void> {
    for (const e of this.endpoints) await e.start();
    await this.gen.graph.start();
    this.hub.setPoints(this.gen.points);
    try {
      this.receivers = await this.startReceivers(this.cfg, new Map());
    } catch (e) {
      await this.gen.graph.shutdown(Date.now() + 2000);
      throw e;
    }
    if (this.cfg.telemetry.tap.endpoint) {
      this.tap = new TapServer(this.cfg.telemetry.tap.endpoint, this.hub, this.logger);
      await this.tap.start();
    }
    if (this.stopping) return;
    this.state = 'ready';
    this.logger.info(
      { pipelines: this.cfg.pipelines.map((p) => p.id), health: this.cfg.telemetry.health.endpoint || 'off', metrics: this.cfg.telemetry.metrics.address || 'off' },
      'agentrelay is running',
    );
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      // Stopped while starting: the receivers that are still coming up must be stopped too.
      await this.starting?.catch(() => undefined);
      await this.reloads;
      const deadline = Date.now() + this.cfg.telemetry.shutdown_timeout;
      this.logger.info({ timeout_ms: this.cfg.telemetry.shutdown_timeout }, 'shutting down: draining pipelines');
      await this.stopReceivers([...this.receivers.values()], deadline);
      await drain(this.gen, deadline);
      await this.gen.graph.shutdown(deadline);
      await this.tap?.stop();
      for (const e of this.endpoints) await e.stop();
      await this.telemetry.shutdown();
      this.logger.info('agentrelay stopped');
    })();
    return this.stopping;
  }

  /** Applies a newly loaded config, or rejects it and keeps the running one. */
  reload(next: LoadResult): Promise<ReloadResult> {
    const run = this.reloads.then(() => this.applyReload(next));
    this.reloads = run.catch(() => undefined);
    return run;
  }

  private async applyReload(next: LoadResult): Promise<ReloadResult> {
    const reject = (errors: string[], message: string): ReloadResult => {
      this.logger.error({ errors }, message);
      this.reloadCounter(1, { result: 'rejected' });
      return { ok: false, errors };
    };
    if (this.state !== 'ready') return { ok: false, errors: [`the relay is ${this.state}`] };
    for (const w of next.warnings) this.logger.warn({ warning: w }, 'new config');
    if (!next.config) return reject(next.errors, 'config reload rejected: the running config stays');
    const cfg = next.config;

    let gen: Generation;
    try {
      gen = this.buildGeneration(cfg);
    } catch (e) {
      return reject([(e as Error).message], 'config reload rejected: the new pipelines could not be built; the running config stays');
    }
    const old = this.gen;
    const deadline = Date.now() + cfg.telemetry.shutdown_timeout;
    // A persistent queue directory has one owner at a time: the old exporters must
    // close it (leaving what they could not send) before the new ones read it back.
    // Then intake waits (requests are held, not refused) while the old graph drains.
    const handOver = hasPersistentQueue(old.cfg) || hasPersistentQueue(cfg);
    if (handOver) {
      const failed = await this.whilePaused(async () => {
        await drain(old, deadline);
        await old.graph.shutdown(deadline);
        try {
          await gen.graph.start();
          this.gen = gen;
          this.hub.setPoints(gen.points);
          return undefined;
        } catch (e) {
          await gen.graph.shutdown(Date.now() + 2000);
          await this.restartGeneration(old.cfg);
          return e as Error;
        }
      });
      if (failed) return reject([failed.message], 'config reload rejected: the new pipelines could not start; the previous config is back');
    } else {
      try {
        await gen.graph.start();
      } catch (e) {
        await gen.graph.shutdown(Date.now() + 2000);
        return reject([(e as Error).message], 'config reload rejected: the new pipelines could not start; the running config stays');
      }
    }

    const oldReceivers = this.receivers;
    const wanted = new Map([...cfg.receivers].filter(([id]) => gen.graph.inputsOf(id)));
    const kept = new Map<string, RunningReceiver>();
    const retired: RunningReceiver[] = [];
    for (const [id, rr] of oldReceivers) {
      if (wanted.has(id) && fingerprint(cfg, id) === rr.fingerprint) kept.set(id, rr);
      else retired.push(rr);
    }
    // From here on, receivers that stay hand every new request to the new graph.
    this.gen = gen;
    this.hub.setPoints(gen.points);
    await this.stopReceivers(retired, deadline);
    let started: Map<string, RunningReceiver>;
    try {
      started = await this.startReceivers(cfg, kept);
    } catch (e) {
      // A listener that cannot bind (address taken): go back to the old pipelines and listeners.
      if (handOver) {
        await this.whilePaused(async () => {
          await drain(gen, deadline);
          await gen.graph.shutdown(deadline);
          await this.restartGeneration(old.cfg);
        });
      } else {
        this.gen = old;
        this.hub.setPoints(old.points);
        await drain(gen, deadline);
        await gen.graph.shutdown(deadline);
      }
      this.receivers = await this.startReceivers(old.cfg, new Map([...oldReceivers].filter(([id]) => kept.has(id)))).catch((err) => {
        this.logger.error({ err: (err as Error).message }, 'could not restart the previous receivers after a failed reload');
        return new Map(kept);
      });
      return reject([(e as Error).message], 'config reload rejected: a receiver could not start; the previous config is back');
    }
    this.receivers = started;

    if (!handOver) {
      await drain(old, deadline);
      await old.graph.shutdown(deadline);
    }
    await this.applyTelemetry(old.cfg, cfg);
    this.reloadCounter(1, { result: 'applied' });
    this.logger.info(
      {
        pipelines: cfg.pipelines.map((p) => p.id),
        receivers_kept: [...kept.keys()],
        receivers_restarted: [...started.keys()].filter((id) => !kept.has(id)),
      },
      'config reloaded',
    );
    return { ok: true, errors: [] };
  }

  /** Runs `fn` with intake held: requests wait (they are not refused) and then go to whatever graph serves. */
  private async whilePaused<T>(fn: () => Promise<T>): Promise<T> {
    let resume!: () => void;
    this.paused = new Promise<void>((r) => (resume = r));
    try {
      return await fn();
    } finally {
      this.paused = undefined;
      resume();
    }
  }

  /** Builds and starts a fresh graph for `cfg` (the previous config, after a failed hand-over) and serves it. */
  private async restartGeneration(cfg: RelayConfig): Promise<void> {
    const gen = this.buildGeneration(cfg);
    await gen.graph.start().catch((err) => this.logger.fatal({ err: (err as Error).message }, 'the previous pipelines could not start again'));
    this.gen = gen;
    this.hub.setPoints(gen.points);
  }

  private async applyTelemetry(before: RelayConfig, after: RelayConfig): Promise<void> {
    const a = before.telemetry;
    const b = after.telemetry;
    if (a.logs.level !== b.logs.level) this.logger.level = b.logs.level;
    const needRestart = [
      a.logs.format !== b.logs.format && 'logs.format',
      a.metrics.address !== b.metrics.address && 'metrics.address',
      JSON.stringify(a.metrics.otlp) !== JSON.stringify(b.metrics.otlp) && 'metrics.otlp',
      a.health.endpoint !== b.health.endpoint && 'health.endpoint',
    ].filter((x): x is string => !!x);
    if (needRestart.length) this.logger.warn({ keys: needRestart.map((k) => `service.telemetry.${k}`) }, 'these settings take effect at the next restart');
    if (a.tap.endpoint !== b.tap.endpoint) {
      await this.tap?.stop();
      this.tap = undefined;
      if (b.tap.endpoint) {
        const tap = new TapServer(b.tap.endpoint, this.hub, this.logger);
        await tap.start().then(
          () => (this.tap = tap),
          (e) => this.logger.error({ endpoint: b.tap.endpoint, err: (e as Error).message }, 'the tap could not start'),
        );
      }
    }
  }

  /** Starts the receivers `cfg` needs that are not in `running` (those are kept as they are). */
  private async startReceivers(cfg: RelayConfig, running: Map<string, RunningReceiver>): Promise<Map<string, RunningReceiver>> {
    const out = new Map(running);
    const fresh: RunningReceiver[] = [];
    try {
      for (const [id, rc] of cfg.receivers) {
        if (out.has(id) || !this.gen.graph.inputsOf(id)) continue;
        const r = rc.factory.create(rc.config, { id, logger: this.logger.child({ component: id }), telemetry: this.telemetry }, {
          consumerFor: (signal) => (this.gen.graph.inputsOf(id)?.has(signal) ? this.gate(id, signal) : undefined),
        });
        await r.start();
        const rr = { id, fingerprint: fingerprint(cfg, id), r };
        fresh.push(rr);
        out.set(id, rr);
      }
    } catch (e) {
      await this.stopReceivers(fresh, Date.now() + 2000);
      throw e;
    }
    return out;
  }

  private async stopReceivers(list: RunningReceiver[], deadline: number): Promise<void> {
    for (const { id, r } of list) {
      await r.shutdown?.(deadline).catch((e) => this.logger.error({ component: id, err: (e as Error).message }, 'receiver shutdown failed'));
    }
  }

  /**
   * What a receiver hands a request to: the graph serving at the moment of the call,
   * with the request counted in that graph until it is taken, so a reload can wait for it.
   */
  private gate(id: string, signal: Signal): Consumer {
    const key = `${id}|${signal}`;
    let g = this.gates.get(key);
    if (!g) {
      g = {
        consume: async (batch) => {
          if (this.paused) await this.paused;
          const gen = this.gen;
          const next = gen.graph.inputsOf(id)?.get(signal);
          if (!next) throw new DeliveryError(`receiver ${id} no longer feeds a ${signal} pipeline (the config was reloaded)`, true);
          if (this.hub.isWatched(id)) this.hub.publish({ component: id, kind: 'receiver', pipeline: '', signal }, batch);
          gen.inflight++;
          try {
            await next.consume(batch);
          } finally {
            if (--gen.inflight === 0) gen.idle?.();
          }
        },
      };
      this.gates.set(key, g);
    }
    return g;
  }
}

/** True when an exporter keeps its sending queue on disk (sending_queue.persistent.directory). */
function hasPersistentQueue(cfg: RelayConfig): boolean {
  for (const e of cfg.exporters.values()) {
    const q = (e.config as { sending_queue?: { enabled?: boolean; persistent?: { directory?: string } } } | undefined)?.sending_queue;
    if (q?.enabled !== false && q?.persistent?.directory) return true;
  }
  return false;
}

function fingerprint(cfg: RelayConfig, id: string): string {
  const rc = cfg.receivers.get(id)!;
  return `${rc.factory.type}|${JSON.stringify(rc.config)}`;
}

/** Waits until no request is inside the generation's graph, or the deadline. */
function drain(gen: Generation, deadline: number): Promise<void> {
  if (gen.inflight === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    gen.idle = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}
