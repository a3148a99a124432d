import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

const schema = z.object({
  // The command service's port: clients of the split wiring's write side find it unchanged.
  PORT: env.port(3101),
  HOST: env.host(),
  DATABASE_URL: env.databaseUrl(),
  // Its own database, not the split wiring's: rows written here never reach an outbox, so a
  // split relay started on them later would have nothing to publish for them.
  DATABASE_NAME: env.identifier('cqrs_monolith'),
  LOG_LEVEL: env.logLevel(),
  // Lab-only: with LAB_CHAOS=1, LAB_EXERCISE_MODULE replaces seams (see seams.ts).
  LAB_CHAOS: env.flag(),
  LAB_EXERCISE_MODULE: z.string().min(1).optional(),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (): Config => loadConfig('cqrs-monolith', schema);
