import { z } from 'zod';
import { env, loadConfig } from '@lab/shared/config';

const schema = z.object({
  PORT: env.port(3102),
  HOST: env.host(),
  REDIS_URL: env.redisUrl(),
  REDIS_KEY_PREFIX: z.string().default(''),
  LOG_LEVEL: env.logLevel(),
  // How long a query carrying a consistency token waits for the read model by default.
  CONSISTENCY_TIMEOUT_MS: z.coerce.number().int().min(0).max(10_000).default(2000),
  // Which read-your-writes wait to use (a module path exporting `waitForToken`); the lab's
  // exercises plug theirs in here.
  QUERY_CONSISTENCY_MODULE: z.string().optional(),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (): Config => loadConfig('query-service', schema);
