import { loadConfig } from '@lab/shared/config';
import { participantConfigSchema } from '@lab/saga-participant-kit';

export const config = loadConfig(
  'hotels',
  participantConfigSchema({ port: 3203, database: 'saga_hotels' }),
);
