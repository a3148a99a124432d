import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

const schema = z.object({
  PORT: env.port(3101),
  HOST: env.host(),
  DATABASE_URL: env.databaseUrl(),
  DATABASE_NAME: env.identifier('cqrs_command'),
  LOG_LEVEL: env.logLevel(),
  // Benchmark baseline only: run the same transactions without writing the outbox, to price
  // what the outbox costs. A service started this way feeds no read model.
  BENCH_SKIP_OUTBOX: env.flag(),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (): Config => loadConfig('command-service', schema);
