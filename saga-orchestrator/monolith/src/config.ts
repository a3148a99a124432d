import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

/** The monolith answers on the orchestrator's port: one address for the whole public API. */
const schema = z.object({
  PORT: env.port(3201),
  HOST: env.host(),
  LOG_LEVEL: env.logLevel(),
  DATABASE_URL: env.databaseUrl(),
  DATABASE_NAME: env.identifier('saga_monolith'),
  /** Mounts the modules' admin routes (`/flights/inventory`, `/payments/cards`, ...). */
  LAB_CHAOS: env.flag(),
  /** A module whose exports replace the seams in seams.ts; only with LAB_CHAOS=1. */
  LAB_EXERCISE_MODULE: z.string().min(1).optional(),
  /** A payments service for an exercise's remote payment port; production never calls one. */
  PAYMENTS_URL: z.url().optional(),
  DB_POOL_SIZE: env.positiveInt(20),
});

export type Config = z.infer<typeof schema>;
export const config = loadConfig('saga-monolith', schema);
