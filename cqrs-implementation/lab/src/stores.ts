import { createPool, databaseUrlFor } from '@lab/shared/pg';
import { createRedis } from '@lab/shared/redis';
import type { LabNamespace } from './services.ts';

/** Connections to the lab's database and Redis for a CLI task; closed by `close`. */
export function connect(ns: LabNamespace) {
  const pool = createPool(databaseUrlFor(ns.databaseUrl, ns.databaseName), { max: 4 });
  const redis = createRedis(ns.redisUrl);
  return {
    pool,
    redis,
    close: async () => {
      await pool.end();
      await redis.quit();
    },
  };
}
