import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '@lab/shared/pg';
import type { Redis } from '@lab/shared/redis';
import {
  createReadModelRepository,
  readModelBase,
} from '../../../../projector/src/data-access/read-model.repository.ts';
import { orderView } from '../../../../projector/src/domain/order-view.projection.ts';
import { productView } from '../../../../projector/src/domain/product-view.projection.ts';
import { snapshotOrders, snapshotProducts } from '../snapshot.ts';

/**
 * Exercise 05: rebuild the read model from the write model into a new generation, then point
 * readers at it. Queries keep being served from the old generation meanwhile, which is the
 * point. But events keep arriving too, and this version loses the ones that commit while it
 * copies.
 */
export async function rebuild(
  pool: Pool,
  redis: Redis,
  prefix: string,
  options: { pauseMs: number },
) {
  const base = readModelBase(prefix);
  const store = createReadModelRepository(redis, prefix);
  const live = (await redis.get(`${base}generation`)) ?? 'g1';
  const next = `g${Number(live.slice(1)) + 1}`;

  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const p of await snapshotProducts(client))
      await store.apply(productView(p.state, p.version), next);
    for (const o of await snapshotOrders(client)) {
      await store.apply(orderView(o.state, o.version), next);
      await sleep(options.pauseMs);
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await redis.set(`${base}generation`, next);
}
