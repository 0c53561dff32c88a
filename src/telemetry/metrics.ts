// The relay's own metrics: items received, refused, dropped, sent and failed, per
// component and signal, kept by the OpenTelemetry metrics SDK and served in the
// Prometheus text format (and optionally pushed over OTLP).
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Counter, Attributes } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { workerIndex } from '../workers/identity';

export interface TelemetryOptions {
  /** Push the relay's own metrics to this OTLP/HTTP metrics URL too. */
  otlpEndpoint?: string;
  otlpIntervalMs?: number;
  otlpHeaders?: Record<string, string>;
}

type CounterName =
  | 'receiver_accepted_items'
  | 'receiver_refused_items'
  | 'receiver_bad_requests'
  | 'processor_dropped_items'
  | 'exporter_sent_items'
  | 'exporter_failed_items'
  | 'exporter_dropped_items'
  | 'exporter_partial_success_items'
  | 'connector_routed_items';

const DESCRIPTIONS: Record<CounterName, string> = {
  receiver_accepted_items: 'Items (log records, spans, data points) accepted and answered with success',
  receiver_refused_items: 'Items refused with an error answer (the sender may retry)',
  receiver_bad_requests: 'Requests refused as malformed, too large, or of an unsupported kind',
  processor_dropped_items: 'Items a processor removed on purpose (filtered, sampled)',
  exporter_sent_items: 'Items a backend acknowledged',
  exporter_failed_items: 'Items that could not be delivered',
  exporter_dropped_items: 'Items an exporter gave up on (non-retryable error, queue full in a drop policy)',
  exporter_partial_success_items: 'Items a backend reported as rejected in a partial_success answer',
  connector_routed_items: 'Items a connector passed to another pipeline',
};

/** One series of a counter: its count, and how much of it the OpenTelemetry counter has. */
interface Series {
  counter: Counter;
  name: string;
  attrs: Attributes;
  total: number;
  handed: number;
}

/** Adds to the series `attrs` names; `series(attrs)` gives an adder for one series, found once. */
export type CounterFn = ((n: number, attrs: Attributes) => void) & { series(attrs: Attributes): (n: number) => void };

export class Telemetry {
  private readonly provider: MeterProvider;
  readonly prometheus: PrometheusExporter;
  private readonly counters = new Map<CounterName, Counter>();

  constructor(opts: TelemetryOptions = {}) {
    this.prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
    const readers: MetricReader[] = [this.prometheus];
    if (opts.otlpEndpoint) {
      // Loaded lazily: most deployments never push their own metrics.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http');
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({ url: opts.otlpEndpoint, headers: opts.otlpHeaders }),
          exportIntervalMillis: opts.otlpIntervalMs ?? 60000,
        }),
      );
    }
    // Pushed metrics name their process, as the Collector's own do: several relays (or the
    // workers of one) pushing to one backend would otherwise write the same series.
    const resource = resourceFromAttributes({
      'service.name': 'agentrelay',
      'service.instance.id': randomUUID(),
      ...(workerIndex !== undefined ? { 'agentrelay.worker': workerIndex } : {}),
    });
    this.provider = new MeterProvider({ readers, resource });
    if (opts.otlpEndpoint) {
      // The push reader collects on its own schedule; keep what it reads at most a second old.
      this.flushTimer = setInterval(() => this.flush(), 1000);
      this.flushTimer.unref();
    }
    const meter = this.provider.getMeter('agentrelay');
    for (const [name, description] of Object.entries(DESCRIPTIONS) as [CounterName, string][]) {
      this.counters.set(name, meter.createCounter(`agentrelay_${name}`, { description }));
    }
  }

  /**
   * A counter of a component's own (`agentrelay_<name>_total`), created on first use;
   * processors use it for what only they know (redactions by detector, unpriced tokens).
   * Calling it again with the same name returns the same counter.
   */
  counter(name: string, description: string): CounterFn {
    let c = this.custom.get(name);
    if (!c) {
      c = this.provider.getMeter('agentrelay').createCounter(`agentrelay_${name}`, { description });
      this.custom.set(name, c);
    }
    const counter = c;
    const add = (n: number, attrs: Attributes) => {
      if (n > 0) this.seriesOf(counter, name, attrs).total += n;
    };
    return Object.assign(add, {
      series: (attrs: Attributes) => {
        const s = this.seriesOf(counter, name, attrs);
        return (n: number) => {
          if (n > 0) s.total += n;
        };
      },
    });
  }

  /**
   * Counts are summed here per series and handed to the OpenTelemetry counters only when
   * metrics are read (scrape, push, shutdown): processors count per record, and the SDK's
   * per-call attribute hashing cost more than some processors' own work.
   */
  private seriesOf(counter: Counter, name: string, attrs: Attributes): Series {
    let key = name;
    for (const k in attrs) key += '\u0001' + k + '\u0002' + String(attrs[k]);
    let series = this.series.get(key);
    if (!series) {
      series = { counter, name, attrs: { ...attrs }, total: 0, handed: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  /** Hands the counts summed since the last read to the OpenTelemetry counters. */
  flush(): void {
    for (const series of this.series.values()) {
      if (series.total === series.handed) continue;
      series.counter.add(series.total - series.handed, series.attrs);
      series.handed = series.total;
    }
  }

  private readonly series = new Map<string, Series>();

  private readonly custom = new Map<string, Counter>();

  /**
   * A gauge (`agentrelay_<name>`) read when metrics are collected; each caller adds
   * one series (its attributes and a function that reads the current value) and
   * removes it with the function returned (at shutdown).
   */
  gauge(name: string, description: string, attrs: Attributes, read: () => number): () => void {
    let g = this.gauges.get(name);
    if (!g) {
      const sources = new Set<{ attrs: Attributes; read: () => number }>();
      const inst = this.provider.getMeter('agentrelay').createObservableGauge(`agentrelay_${name}`, { description });
      inst.addCallback((result) => {
        for (const src of sources) result.observe(src.read(), src.attrs);
      });
      g = { sources };
      this.gauges.set(name, g);
    }
    const src = { attrs, read };
    g.sources.add(src);
    const sources = g.sources;
    return () => void sources.delete(src);
  }

  private readonly gauges = new Map<string, { sources: Set<{ attrs: Attributes; read: () => number }> }>();

  add(name: CounterName, n: number, attrs: Attributes): void {
    if (n > 0) this.seriesOf(this.counters.get(name)!, name, attrs).total += n;
  }

  /** Sum of a counter (built-in or from counter()) over every series whose attributes include `match`. */
  total(name: CounterName | string, match: Attributes = {}): number {
    let sum = 0;
    for (const series of this.series.values()) {
      if (series.name !== name) continue;
      if (Object.entries(match).every(([k, x]) => series.attrs[k] === x)) sum += series.total;
    }
    return sum;
  }

  /** What /metrics would answer, as text (a worker hands it to the primary, which serves the sum). */
  async prometheusText(): Promise<string> {
    this.flush();
    const { resourceMetrics } = await this.prometheus.collect();
    return new PrometheusSerializer(undefined, false, undefined, true, true).serialize(resourceMetrics);
  }

  serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    this.flush();
    this.prometheus.getMetricsRequestHandler(req, res);
  }

  async shutdown(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flush();
    await this.provider.shutdown().catch(() => undefined);
  }

  private flushTimer?: NodeJS.Timeout;
}
