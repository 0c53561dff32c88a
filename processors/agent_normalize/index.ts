// Placeholder until the agent_normalize processor lands: any config using it fails validation.
import { s } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';

export const agentNormalizeProcessor: ProcessorFactory<unknown> = {
  type: 'agent_normalize',
  schema: s.custom('not implemented', (_v, path, ctx) => {
    ctx.issues.push({ path, severity: 'error', message: 'the agent_normalize processor is not implemented yet' });
    return undefined;
  }),
  signals: ['logs', 'metrics', 'traces'],
  create() {
    throw new Error('the agent_normalize processor is not implemented yet');
  },
};
