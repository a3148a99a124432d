import { loadConfig } from '@lab/shared/config';
import { participantConfigSchema } from '@lab/saga-participant-kit';

export const config = loadConfig(
  'payments',
  participantConfigSchema({ port: 3205, database: 'saga_payments' }),
);
