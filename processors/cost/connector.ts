// Placeholder until the cost connector lands: any config using it fails validation.
import { s } from '../../src/config/schema';
import type { ConnectorFactory } from '../../src/pipeline/component';

export const costConnector: ConnectorFactory<unknown> = {
  type: 'cost',
  schema: s.custom('not implemented', (_v, path, ctx) => {
    ctx.issues.push({ path, severity: 'error', message: 'the cost connector is not implemented yet' });
    return undefined;
  }),
  pairs: [['logs', 'metrics']],
  create() {
    throw new Error('the cost connector is not implemented yet');
  },
};
