import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from '@lab/shared/redis';
import { waitFor } from './wait.ts';
import { listDeadLetters, replayDeadLetters } from '../src/tasks/dead-letters.ts';
import { rewindProjector } from '../src/tasks/replay.ts';
import { verifyLab } from '../src/audit.ts';
import { commandClient, queryClient } from '../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';
import { metric } from './metrics.ts';

let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  const ns = isolatedNamespace('replay');
  stack = await startStack({ ns });
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

/** Every read-model key under the namespace with its full content, for before/after comparison. */
async function dump(redis: Redis, prefix: string) {
  const keys = (await redis.keys(`${prefix}*`)).sort();
  const content: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'hash') content[key] = await redis.hgetall(key);
    else if (type === 'zset') content[key] = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else content[key] = await redis.get(key);
  }
  return content;
}

async function restartProjector(env: Record<string, string> = {}) {
  await stack.services.projector?.stop();
  await stack.start('projector', env);
}

describe('projector replay', () => {
  it('When the whole topic is replayed into the projector, then nothing in Redis changes and every event is ignored as a duplicate or stale', async () => {
    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'replay',
      name: 'Replay',
      priceCents: 120,
      stock: 30,
    });
    let last = product.body;
    for (let i = 0; i < 6; i++) {
      const order = await commands.placeOrder({
        customerId: `r${i % 2}`,
        lines: [{ productId: product.body.id, quantity: 2 }],
      });
      last = order.body;
      if (i % 3 === 0) last = (await commands.cancel(order.body.id, 1)).body;
    }
    await queryClient(stack.url('query'), 10_000).product(product.body.id, last.consistencyToken);
    const { rows } = await stores.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox',
    );
    const events = rows[0]?.n ?? 0;
    const before = await dump(stores.redis, stack.ns.redisKeyPrefix);

    await stack.services.projector?.stop();
    await rewindProjector(stack.ns);
    await stack.start('projector');
    await waitFor('every event to be seen again', async () => {
      const url = stack.url('projector');
      // The last event of each aggregate comes back as a duplicate, every earlier one as stale.
      const ignored =
        (await metric(url, 'cqrs_projector_events_total', 'outcome="duplicate"')) +
        (await metric(url, 'cqrs_projector_events_total', 'outcome="stale"'));
      return ignored >= events;
    });

    expect(
      await metric(stack.url('projector'), 'cqrs_projector_events_total', 'outcome="applied"'),
    ).toBe(0);
    expect(await dump(stores.redis, stack.ns.redisKeyPrefix)).toEqual(before);
  });

  it('When the projector rejects an event as poison, then it lands in the dead-letter topic with its reason, later events still apply, and dlq replay applies it once fixed', async () => {
    await restartProjector({ LAB_CHAOS: '1', PROJECTOR_POISON_TYPES: 'ProductRestocked' });
    const commands = commandClient(stack.url('command'));
    const queries = queryClient(stack.url('query'), 10_000);
    const product = await commands.createProduct({
      sku: 'poison',
      name: 'Poison',
      priceCents: 1,
      stock: 1,
    });
    const restocked = await commands.restock(product.body.id, 9);
    const other = await commands.createProduct({
      sku: 'after-poison',
      name: 'After',
      priceCents: 1,
      stock: 1,
    });

    const otherView = await queries.product(other.body.id, other.body.consistencyToken);
    const letters = await waitFor('the dead letter', async () => {
      const found = await listDeadLetters(stack.ns);
      return found.length > 0 && found;
    });
    expect(otherView.status).toBe(200);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      reason: 'chaos: projector configured to reject ProductRestocked',
      key: product.body.id,
      summary: `ProductRestocked product:${product.body.id} v2`,
    });
    expect(await metric(stack.url('projector'), 'cqrs_projector_dead_lettered_total')).toBe(1);
    expect((await queries.product(product.body.id)).body).toMatchObject({ version: 1, stock: 1 });

    await restartProjector();
    const replayed = await replayDeadLetters(stack.ns);
    const again = await replayDeadLetters(stack.ns);

    expect(replayed).toBe(1);
    expect(again).toBe(0);
    const view = await queries.product(product.body.id, restocked.body.consistencyToken);
    expect(view.body).toMatchObject({ version: 2, stock: 10 });
    expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix)).toEqual([]);
  });
});
