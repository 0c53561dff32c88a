// forward: passes every batch of one pipeline on to other pipelines of the same
// signal, as the Collector's forward connector does (e.g. one intake pipeline
// feeding several differently processed ones).
import { s } from '../config/schema';
import type { ConnectorFactory } from '../pipeline/component';
import { FanOut } from '../pipeline/fanout';

export const forwardConnector: ConnectorFactory<Record<string, never>> = {
  type: 'forward',
  schema: s.object({}),
  pairs: [['logs', 'logs'], ['metrics', 'metrics'], ['traces', 'traces']],
  create(_config, ctx, outputs) {
    let fan: FanOut | undefined;
    return {
      async consume(batch) {
        fan ??= new FanOut([...outputs.values()]);
        await fan.consume(batch);
        ctx.telemetry.add('connector_routed_items', batch.itemCount() * outputs.size, { component: ctx.id, signal: ctx.to });
      },
    };
  },
};
