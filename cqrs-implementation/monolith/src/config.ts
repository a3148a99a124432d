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
});

export type Config = z.infer<typeof schema>;
export const readConfig = (): Config => loadConfig('cqrs-monolith', schema);
