// The contracts every receiver, processor, exporter and connector follows.
// A pipeline is a chain of Consumers: a receiver hands each request to the
// pipelines that listen to it; each processor hands its result to the next; the
// last hands it to the fan-out over the pipeline's exporters and connectors.
import type { Logger } from 'pino';
import type { Batch } from '../otlp/batch';
import type { Signal } from '../otlp/schema';
import type { Schema } from '../config/schema';
import type { Telemetry } from '../telemetry/metrics';

export interface Consumer {
  /**
   * Takes a batch. Resolves once the batch is safely handed on (sent, or held by a
   * component that answers for it); rejects when it was not, with a DeliveryError
   * that says whether the sender may retry.
   */
  consume(batch: Batch): Promise<void>;
}

export interface Lifecycle {
  start?(): Promise<void>;
  /** Stops, flushing what the component holds, before `deadline` (epoch ms). */
  shutdown?(deadline: number): Promise<void>;
}

export interface ComponentContext {
  /** The component's id as written in the config (`otlphttp/grafana`). */
  id: string;
  logger: Logger;
  telemetry: Telemetry;
}

export type Processor = Consumer & Lifecycle;
export type Exporter = Consumer & Lifecycle;

export interface ReceiverHost {
  /** The consumer for a signal, or undefined when no pipeline of that signal uses this receiver. */
  consumerFor(signal: Signal): Consumer | undefined;
}

export interface Receiver extends Lifecycle {
  start(): Promise<void>;
}

interface FactoryBase<C> {
  type: string;
  /** Config schema; `name: {}` must be a valid config that runs with documented defaults. */
  schema: Schema<C>;
}

export interface ProcessorContext extends ComponentContext {
  signal: Signal;
  pipeline: string;
  /** True when no processor follows this one in its pipeline (only exporters and connectors). */
  last?: boolean;
}

export interface ProcessorFactory<C = any> extends FactoryBase<C> {
  signals: readonly Signal[];
  create(config: C, ctx: ProcessorContext, next: Consumer): Processor;
}

export interface ExporterFactory<C = any> extends FactoryBase<C> {
  signals: readonly Signal[];
  create(config: C, ctx: ComponentContext, signal: Signal): Exporter;
  /** Exporters that share a connection or file across signals may return one instance per id. */
}

export interface ReceiverFactory<C = any> extends FactoryBase<C> {
  signals: readonly Signal[];
  create(config: C, ctx: ComponentContext, host: ReceiverHost): Receiver;
}

export interface ConnectorFactory<C = any> extends FactoryBase<C> {
  /** Allowed [from, to] signal pairs: the connector exports in a `from` pipeline and receives in a `to` pipeline. */
  pairs: readonly (readonly [Signal, Signal])[];
  /** Pipelines the config names (checked against the pipelines that list the connector as a receiver). */
  pipelinesOf?(config: C): { path: (string | number)[]; pipeline: string }[];
  create(
    config: C,
    ctx: ComponentContext & { from: Signal; to: Signal },
    /** The pipelines this connector feeds, by pipeline id, for the `to` signal. */
    outputs: Map<string, Consumer>,
  ): Exporter;
}

/** A failure to deliver; `retryable` tells the sender (agent SDK or upstream relay) whether to try again. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** Milliseconds the sender should wait before retrying, when known. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
