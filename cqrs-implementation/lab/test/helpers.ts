import { createPool, databaseUrlFor, dropDatabase, type Pool } from '@lab/shared/pg';
import { createRedis, type Redis } from '@lab/shared/redis';
import type { PrivateRedis } from '@lab/shared/testkit';
import type { LabNamespace } from '../src/services.ts';
import { waitFor } from './wait.ts';

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

/**
 * Closes stores whose keys live on a private Redis a test may have left stopped: the server is
 * started again so that it can answer for the clean-up, then destroyed.
 */
export async function closeOnPrivateRedis(
  server: PrivateRedis | undefined,
  stores: Stores | undefined,
): Promise<void> {
  try {
    await server?.start();
    if (stores) {
      await waitFor('the test client to reconnect', () => stores.redis.status === 'ready');
      await stores.close();
    }
  } finally {
    await server?.destroy();
  }
}
