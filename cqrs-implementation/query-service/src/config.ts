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
  // The near cache's budget for documents (data-access/near-cache.ts); 0 turns it off, so
  // every read goes to Redis.
  NEAR_CACHE_MB: z.coerce.number().int().min(0).max(4096).default(32),
  // How long an entry may live with no invalidation: a bound on staleness should one ever be
  // lost on a tracking connection that stays open.
  NEAR_CACHE_TTL_MS: z.coerce.number().int().min(1).max(86_400_000).default(10_000),
  LAB_CHAOS: env.flag(),
  // A learner's exercise module replacing some of this service's seams (src/seams.ts); only
  // with LAB_CHAOS=1, as production never loads code named by its environment.
  LAB_EXERCISE_MODULE: z.string().optional(),
  // Which of the lab's services with seams takes that module when `up` starts them all.
  LAB_EXERCISE_SERVICE: z.enum(['relay', 'projector', 'query-service']).optional(),
});

export type Config = z.infer<typeof schema>;
export const readConfig = (): Config => loadConfig('query-service', schema);
