// Placeholder until the cardinality processor lands: any config using it fails validation.
import { s } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';

export const cardinalityProcessor: ProcessorFactory<unknown> = {
  type: 'cardinality',
  schema: s.custom('not implemented', (_v, path, ctx) => {
    ctx.issues.push({ path, severity: 'error', message: 'the cardinality processor is not implemented yet' });
    return undefined;
  }),
  signals: ['logs', 'metrics', 'traces'],
  create() {
    throw new Error('the cardinality processor is not implemented yet');
  },
};
