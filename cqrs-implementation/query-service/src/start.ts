/**
 * The query service: the read side of CQRS. It answers only from Redis read models shaped for
 * each question, never from the write model; a consistency token buys read-your-writes.
 */
import { withExerciseSeams } from '@lab/shared/exercise';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createRedis } from '@lab/shared/redis';
import { readConfig } from './config.ts';
import { createNearCache } from './data-access/near-cache.ts';
import { createReadModelRepository } from './data-access/read-model.repository.ts';
import { readRoutes } from './entry-points/api/read.routes.ts';
import { querySeams } from './seams.ts';

const config = readConfig();
const logger = createLogger('query-service', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, { logger });
// Reads that arrive together go to Redis in one write and come back in one read: ioredis sends
// the commands of one event-loop turn as a pipeline, saving Redis and this service a pair of
// system calls per request. Each read is still its own atomic script.
redis.options.enableAutoPipelining = true;
// Most reads are repeats of a document nothing has changed since: those are answered from
// memory, and Redis tells the cache when the projector changes one.
const nearCache =
  config.NEAR_CACHE_MB > 0
    ? createNearCache(redis, `${config.REDIS_KEY_PREFIX}cqrs:`, {
        maxBytes: config.NEAR_CACHE_MB * 1024 * 1024,
        ttlMs: config.NEAR_CACHE_TTL_MS,
        logger,
      })
    : undefined;
const readModel = createReadModelRepository(redis, config.REDIS_KEY_PREFIX, nearCache);

const { waitForToken } = await withExerciseSeams('query-service', querySeams, config, logger);

const app = createApp({
  service: 'query-service',
  logger,
  readiness: { redis: () => redis.ping() },
  routes: (routes) => {
    readRoutes(routes, readModel, config.CONSISTENCY_TIMEOUT_MS, waitForToken);
  },
});

const server = await start(app, config.PORT, config.HOST);
logger.info({ url: server.url }, 'listening');
// QUIT needs a live connection; with Redis down it is refused, and a refused QUIT must not
// turn a clean SIGTERM into a failed shutdown: drop the socket instead.
onShutdown(
  logger,
  [server],
  [
    () => {
      nearCache?.close();
      return Promise.resolve();
    },
    () =>
      redis.quit().then(
        () => undefined,
        () => {
          redis.disconnect();
        },
      ),
  ],
);
