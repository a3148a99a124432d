import { createPool, databaseUrlFor, dropDatabase, type Pool } from '@lab/shared/pg';
import { createRedis, type Redis } from '@lab/shared/redis';
import type { LabNamespace } from '../src/services.ts';

export interface Stores {
  pool: Pool;
  redis: Redis;
  close: () => Promise<void>;
}

/** Direct handles on the namespace's database and Redis, for assertions and audits. */
export function openStores(ns: LabNamespace): Stores {
  const pool = createPool(databaseUrlFor(ns.databaseUrl, ns.databaseName), { max: 4 });
  const redis = createRedis(ns.redisUrl);
  return {
    pool,
    redis,
    close: async () => {
      await pool.end();
      const keys = await redis.keys(`${ns.redisKeyPrefix}*`);
      if (keys.length > 0) await redis.unlink(...keys);
      await redis.quit();
      await dropDatabase(ns.databaseUrl, ns.databaseName).catch(() => undefined);
    },
  };
}
