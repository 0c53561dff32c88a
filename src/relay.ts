// One running relay: config -> logger, own telemetry, health endpoint, pipeline
// graph. Stop is graceful: readiness goes false, receivers stop taking data,
// pipelines drain and exporters flush, all within service.telemetry.shutdown_timeout.
import type { Logger, LevelWithSilent } from 'pino';
import type { RelayConfig } from './config/load';
import { Graph } from './pipeline/graph';
import { Telemetry } from './telemetry/metrics';
import { HttpEndpoint, healthRoutes } from './telemetry/health';
import { createLogger } from './telemetry/logger';

export class Relay {
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  private readonly graph: Graph;
  private readonly endpoints: HttpEndpoint[] = [];
  private state: 'starting' | 'ready' | 'stopping' = 'starting';
  private stopping?: Promise<void>;

  constructor(private readonly cfg: RelayConfig, logger?: Logger) {
    const t = cfg.telemetry;
    this.logger = logger ?? createLogger({ level: t.logs.level as LevelWithSilent, format: t.logs.format as 'auto' | 'json' | 'pretty' });
    this.telemetry = new Telemetry({
      otlpEndpoint: t.metrics.otlp.endpoint || undefined,
      otlpIntervalMs: t.metrics.otlp.interval,
      otlpHeaders: t.metrics.otlp.headers,
    });
    this.graph = new Graph(cfg, this.logger, this.telemetry);
    const health = healthRoutes(() => this.state);
    const metricsRoute = { '/metrics': this.telemetry.serveMetrics.bind(this.telemetry) };
    if (t.health.endpoint && t.health.endpoint === t.metrics.address) {
      this.endpoints.push(new HttpEndpoint(t.health.endpoint, { ...health, ...metricsRoute }));
    } else {
      if (t.health.endpoint) this.endpoints.push(new HttpEndpoint(t.health.endpoint, health));
      if (t.metrics.address) this.endpoints.push(new HttpEndpoint(t.metrics.address, metricsRoute));
    }
  }

  async start(): Promise<void> {
    for (const e of this.endpoints) await e.start();
    await this.graph.start();
    this.state = 'ready';
    this.logger.info(
      { pipelines: this.cfg.pipelines.map((p) => p.id), health: this.cfg.telemetry.health.endpoint || 'off', metrics: this.cfg.telemetry.metrics.address || 'off' },
      'agentrelay is running',
    );
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      const deadline = Date.now() + this.cfg.telemetry.shutdown_timeout;
      this.logger.info({ timeout_ms: this.cfg.telemetry.shutdown_timeout }, 'shutting down: draining pipelines');
      await this.graph.shutdown(deadline);
      for (const e of this.endpoints) await e.stop();
      await this.telemetry.shutdown();
      this.logger.info('agentrelay stopped');
    })();
    return this.stopping;
  }
}
