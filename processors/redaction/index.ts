// Placeholder until the redaction processor lands: any config using it fails validation.
import { s } from '../../src/config/schema';
import type { ProcessorFactory } from '../../src/pipeline/component';

export const redactionProcessor: ProcessorFactory<unknown> = {
  type: 'redaction',
  schema: s.custom('not implemented', (_v, path, ctx) => {
    ctx.issues.push({ path, severity: 'error', message: 'the redaction processor is not implemented yet' });
    return undefined;
  }),
  signals: ['logs', 'metrics', 'traces'],
  create() {
    throw new Error('the redaction processor is not implemented yet');
  },
};
