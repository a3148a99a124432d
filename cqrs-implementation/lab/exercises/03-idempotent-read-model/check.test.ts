import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/wait.ts';
import { rewindProjector } from '../../src/tasks/replay.ts';
import { commandClient } from '../../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../../src/services.ts';
import { openStores, type Stores } from '../../test/helpers.ts';
import { metric } from '../../test/metrics.ts';
import { exerciseModule } from '@lab/shared/testkit';

const projectorEnv = {
  LAB_CHAOS: '1',
  LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'customer-spend.projection.ts'),
};
let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  const ns = isolatedNamespace('ex03');
  stack = await startStack({
    ns,
    only: ['command', 'relay', 'projector'],
    env: { projector: projectorEnv },
  });
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

async function spendInPostgres() {
  const { rows } = await stores.pool.query<{ customer_id: string; spent: string }>(
    `SELECT customer_id, sum(total_cents)::text AS spent FROM orders WHERE status = 'placed' GROUP BY customer_id`,
  );
  return Object.fromEntries(rows.map((r): [string, string] => [r.customer_id, r.spent]).sort());
}
const spendInRedis = async () => {
  const all = await stores.redis.hgetall(`${stack.ns.redisKeyPrefix}cqrs:customer-spend`);
  return Object.fromEntries(
    Object.entries(all)
      .filter(([, cents]) => cents !== '0')
      .sort(),
  );
};

describe('exercise 03: an idempotent read model', () => {
  it('When the whole topic is delivered a second time, then customer spend still equals the placed orders in PostgreSQL', async () => {
    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'ex03',
      name: 'Tea',
      priceCents: 350,
      stock: 100,
    });
    for (let i = 0; i < 6; i++) {
      const order = await commands.placeOrder({
        customerId: `c${i % 3}`,
        lines: [{ productId: product.body.id, quantity: 1 + i }],
      });
      if (i === 4) await commands.cancel(order.body.id, 1);
    }
    const expected = await spendInPostgres();
    await waitFor(
      'the read model to count every order',
      async () => JSON.stringify(await spendInRedis()) === JSON.stringify(expected),
    );

    await stack.services.projector?.stop();
    await rewindProjector(stack.ns);
    await stack.start('projector', projectorEnv);
    const { rows } = await stores.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox',
    );
    await waitFor('the topic to be delivered again', async () => {
      const url = stack.url('projector');
      const ignored =
        (await metric(url, 'cqrs_projector_events_total', 'outcome="duplicate"')) +
        (await metric(url, 'cqrs_projector_events_total', 'outcome="stale"'));
      return ignored >= (rows[0]?.n ?? Infinity);
    });

    expect(
      await spendInRedis(),
      'spend per customer after the topic was delivered a second time: an event applied twice counts twice',
    ).toEqual(expected);
  });
});
