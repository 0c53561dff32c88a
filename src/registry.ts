// Every component type the relay knows, by kind. Adding a processor touches its
// folder under processors/ and one line here.
import type { ConnectorFactory, ExporterFactory, ProcessorFactory, ReceiverFactory } from './pipeline/component';
import { otlpReceiver } from './receivers/otlp';
import { otlpGrpcExporter } from './exporters/otlp-grpc';
import { otlpHttpExporter } from './exporters/otlp-http';
import { debugExporter } from './exporters/debug';
import { fileExporter } from './exporters/file';
import { batchProcessor } from '../processors/batch';
import { forwardConnector } from './connectors/forward';
import { routingConnector } from './connectors/routing';

export const receivers: ReceiverFactory[] = [otlpReceiver];
export const processors: ProcessorFactory[] = [batchProcessor];
export const exporters: ExporterFactory[] = [otlpGrpcExporter, otlpHttpExporter, debugExporter, fileExporter];
export const connectors: ConnectorFactory[] = [forwardConnector, routingConnector];
