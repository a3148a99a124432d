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
 * 1. Announce the new generation as `building` BEFORE taking the snapshot: from then on the
 *    projector's script writes every event to it too. Anything committed after the snapshot
 *    therefore reaches the new generation through the projector.
 * 2. Copy the snapshot with the same version-checked write the projector uses, so whichever
 *    of the two writes an aggregate first, the higher version wins.
 * 3. Switch `generation` and clear `building` in one MULTI: readers move over atomically.
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
  await redis.set(`${base}building`, next);

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
  await redis.multi().set(`${base}generation`, next).del(`${base}building`).exec();
}
