// Every component type the relay knows, by kind. Adding a processor touches its
// folder under processors/ and one line here.
import type { ConnectorFactory, ExporterFactory, ProcessorFactory, ReceiverFactory } from './pipeline/component';
import { otlpReceiver } from './receivers/otlp';
import { otlpGrpcExporter } from './exporters/otlp-grpc';
import { otlpHttpExporter } from './exporters/otlp-http';
import { debugExporter } from './exporters/debug';
import { fileExporter } from './exporters/file';
import { forwardConnector } from './connectors/forward';
import { routingConnector } from './connectors/routing';
import { batchProcessor } from '../processors/batch';
import { filterProcessor } from '../processors/filter';
import { attributesProcessor } from '../processors/attributes';
import { resourceProcessor } from '../processors/resource';
import { agentNormalizeProcessor } from '../processors/agent_normalize';
import { enrichProcessor } from '../processors/enrich';
import { limitsProcessor } from '../processors/limits';
import { redactionProcessor } from '../processors/redaction';
import { cardinalityProcessor } from '../processors/cardinality';
import { deltatocumulativeProcessor } from '../processors/deltatocumulative';
import { cumulativetodeltaProcessor } from '../processors/cumulativetodelta';
import { costProcessor } from '../processors/cost';
import { costConnector } from '../processors/cost/connector';
import { samplingProcessor } from '../processors/sampling';

export const receivers: ReceiverFactory[] = [otlpReceiver];
export const processors: ProcessorFactory[] = [
  batchProcessor,
  filterProcessor,
  attributesProcessor,
  resourceProcessor,
  agentNormalizeProcessor,
  enrichProcessor,
  limitsProcessor,
  redactionProcessor,
  cardinalityProcessor,
  deltatocumulativeProcessor,
  cumulativetodeltaProcessor,
  costProcessor,
  samplingProcessor,
];
export const exporters: ExporterFactory[] = [otlpGrpcExporter, otlpHttpExporter, debugExporter, fileExporter];
export const connectors: ConnectorFactory[] = [forwardConnector, routingConnector, costConnector];
