import { loadConfig } from '@lab/shared/config';
import { participantConfigSchema } from '@lab/saga-participant-kit';

export const config = loadConfig(
  'cars',
  participantConfigSchema({ port: 3204, database: 'saga_cars' }),
);
