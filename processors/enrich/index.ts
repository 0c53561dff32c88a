// Placeholder until the enrich processor lands: any config using it fails validation.
import { s } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';

export const enrichProcessor: ProcessorFactory<unknown> = {
  type: 'enrich',
  schema: s.custom('not implemented', (_v, path, ctx) => {
    ctx.issues.push({ path, severity: 'error', message: 'the enrich processor is not implemented yet' });
    return undefined;
  }),
  signals: ['logs', 'metrics', 'traces'],
  create() {
    throw new Error('the enrich processor is not implemented yet');
  },
};
