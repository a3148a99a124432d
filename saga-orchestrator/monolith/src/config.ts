import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

/** The monolith answers on the orchestrator's port: one address for the whole public API. */
const schema = z.object({
  PORT: env.port(3201),
  HOST: env.host(),
  DATABASE_URL: env.databaseUrl(),
  DATABASE_NAME: env.identifier('saga_monolith'),
  /** Mounts the modules' admin routes (`/flights/inventory`, `/payments/cards`, ...). */
  LAB_CHAOS: env.flag(),
  DB_POOL_SIZE: env.positiveInt(20),
});

export type Config = z.infer<typeof schema>;
export const config = loadConfig('saga-monolith', schema);
