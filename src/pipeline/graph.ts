// Builds the running relay from a checked config: one exporter instance per
// exporter id and signal, one processor chain per pipeline, one connector
// instance per connector id and signal pair, one receiver per receiver id.
// Start goes exporters -> pipelines -> receivers; shutdown goes the other way, so
// nothing is accepted that cannot be drained.
import type { Logger } from 'pino';
import type { Signal } from '../otlp/schema';
import type { RelayConfig, PipelineSpec } from '../config/load';
import type { Telemetry } from '../telemetry/metrics';
import type { Consumer, Exporter, Processor, Receiver } from './component';
import { FanOut } from './fanout';

interface Stage {
  pipeline: string;
  processors: Processor[];
}

/** A place where batches pass from one component to the next (see GraphOptions.observe). */
export interface TapPoint {
  component: string;
  kind: 'receiver' | 'processor' | 'connector' | 'exporter';
  pipeline: string;
  signal: Signal;
}

export interface GraphOptions {
  /**
   * false: build the pipelines without creating receivers; whoever holds the graph runs
   * them and feeds `inputsOf(id)` (a hot reload keeps receivers across graphs).
   */
  receivers?: boolean;
  /** Wraps every hand-over (processor output, connector output, exporter input), e.g. for a live tap. */
  observe?: (point: TapPoint, next: Consumer) => Consumer;
}

export class Graph {
  private readonly receivers: { id: string; r: Receiver }[] = [];
  private readonly exporters = new Map<string, Exporter>();
  private readonly stages: Stage[] = [];
  private readonly entries = new Map<string, Consumer>();
  private readonly inputs = new Map<string, Map<Signal, Consumer>>();

  constructor(
    private readonly cfg: RelayConfig,
    private readonly logger: Logger,
    private readonly telemetry: Telemetry,
    private readonly opts: GraphOptions = {},
  ) {
    this.build();
  }

  private ctx(id: string) {
    return { id, logger: this.logger.child({ component: id }), telemetry: this.telemetry };
  }

  private build(): void {
    const { cfg } = this;
    const observe = this.opts.observe ?? ((_point: TapPoint, next: Consumer) => next);
    // Connector outputs are filled once every pipeline has its entry consumer.
    const connectorOutputs = new Map<string, Map<string, Consumer>>();
    const exporterFor = (id: string, p: PipelineSpec): Exporter => {
      const conn = cfg.connectors.get(id);
      if (conn) {
        const to = cfg.pipelines.filter((q) => q.receivers.includes(id));
        const toSignals = [...new Set(to.map((q) => q.signal))];
        const parts: Exporter[] = toSignals.map((toSignal) => {
          const key = `${id}|${p.signal}|${toSignal}`;
          let inst = this.exporters.get(key);
          if (!inst) {
            const outputs = new Map<string, Consumer>();
            connectorOutputs.set(key, outputs);
            inst = conn.factory.create(conn.config, { ...this.ctx(id), from: p.signal, to: toSignal }, outputs);
            this.exporters.set(key, inst);
          }
          return inst;
        });
        return parts.length === 1 ? parts[0] : (new FanOut(parts) as Exporter);
      }
      const key = `${id}|${p.signal}`;
      let inst = this.exporters.get(key);
      if (!inst) {
        const e = cfg.exporters.get(id)!;
        inst = e.factory.create(e.config, this.ctx(id), p.signal);
        this.exporters.set(key, inst);
      }
      return inst;
    };

    for (const p of cfg.pipelines) {
      let next: Consumer = new FanOut(
        p.exporters.map((id) =>
          cfg.connectors.has(id) ? exporterFor(id, p) : observe({ component: id, kind: 'exporter', pipeline: p.id, signal: p.signal }, exporterFor(id, p)),
        ),
      );
      const chain: Processor[] = [];
      for (let i = p.processors.length - 1; i >= 0; i--) {
        const pc = cfg.processors.get(p.processors[i])!;
        const out = observe({ component: pc.id, kind: 'processor', pipeline: p.id, signal: p.signal }, next);
        const proc = pc.factory.create(pc.config, { ...this.ctx(pc.id), signal: p.signal, pipeline: p.id, last: i === p.processors.length - 1 }, out);
        chain.unshift(proc);
        next = proc;
      }
      this.stages.push({ pipeline: p.id, processors: chain });
      this.entries.set(p.id, next);
    }

    for (const [key, outputs] of connectorOutputs) {
      const [id, , toSignal] = key.split('|');
      for (const q of cfg.pipelines) {
        if (q.signal === toSignal && q.receivers.includes(id))
          outputs.set(q.id, observe({ component: id, kind: 'connector', pipeline: q.id, signal: q.signal }, this.entries.get(q.id)!));
      }
    }

    for (const [id, rc] of cfg.receivers) {
      const consumers = new Map<Signal, Consumer>();
      for (const sig of ['logs', 'metrics', 'traces'] as Signal[]) {
        const ps = cfg.pipelines.filter((p) => p.signal === sig && p.receivers.includes(id));
        if (ps.length) consumers.set(sig, new FanOut(ps.map((p) => this.entries.get(p.id)!)));
      }
      if (consumers.size === 0) continue;
      this.inputs.set(id, consumers);
      if (this.opts.receivers === false) continue;
      this.receivers.push({ id, r: rc.factory.create(rc.config, this.ctx(id), { consumerFor: (s) => consumers.get(s) }) });
    }
  }

  /** What receiver `id` feeds, by signal (undefined: no pipeline lists it). */
  inputsOf(id: string): ReadonlyMap<Signal, Consumer> | undefined {
    return this.inputs.get(id);
  }

  /** The entry of a pipeline, for tests and for `agentrelay test`. */
  entry(pipelineId: string): Consumer | undefined {
    return this.entries.get(pipelineId);
  }

  async start(): Promise<void> {
    for (const e of this.exporters.values()) await e.start?.();
    for (const st of this.stages) for (const p of st.processors) await p.start?.();
    try {
      for (const { r } of this.receivers) await r.start();
    } catch (e) {
      await this.shutdown(Date.now() + 2000);
      throw e;
    }
  }

  async shutdown(deadline: number): Promise<void> {
    for (const { id, r } of this.receivers) {
      await r.shutdown?.(deadline).catch((e) => this.logger.error({ component: id, err: e }, 'receiver shutdown failed'));
    }
    // Pipelines fed by receivers flush first, then those fed by connectors.
    for (const st of this.orderedStages()) {
      for (const p of st.processors) {
        await p.shutdown?.(deadline).catch((e) => this.logger.error({ pipeline: st.pipeline, err: e }, 'processor shutdown failed'));
      }
    }
    await Promise.all(
      [...this.exporters.entries()].map(([key, e]) =>
        e.shutdown?.(deadline).catch((err) => this.logger.error({ component: key.split('|')[0], err }, 'exporter shutdown failed')),
      ),
    );
  }

  private orderedStages(): Stage[] {
    const depth = new Map<string, number>();
    const connectorIds = new Set(this.cfg.connectors.keys());
    const d = (p: PipelineSpec, seen: Set<string>): number => {
      if (depth.has(p.id)) return depth.get(p.id)!;
      if (seen.has(p.id)) return 0;
      seen.add(p.id);
      let best = 0;
      for (const r of p.receivers) {
        if (!connectorIds.has(r)) continue;
        for (const up of this.cfg.pipelines.filter((q) => q.exporters.includes(r))) best = Math.max(best, d(up, seen) + 1);
      }
      depth.set(p.id, best);
      return best;
    };
    for (const p of this.cfg.pipelines) d(p, new Set());
    return [...this.stages].sort((a, b) => depth.get(a.pipeline)! - depth.get(b.pipeline)!);
  }
}
