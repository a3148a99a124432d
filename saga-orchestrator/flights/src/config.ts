import { loadConfig } from '@lab/shared/config';
import { participantConfigSchema } from '@lab/saga-participant-kit';

export const config = loadConfig(
  'flights',
  participantConfigSchema({ port: 3202, database: 'saga_flights' }),
);
