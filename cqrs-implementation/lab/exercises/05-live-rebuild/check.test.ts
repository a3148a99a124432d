import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule } from '@lab/shared/testkit';
import { waitFor } from '../../test/wait.ts';
import { verifyLab } from '../../src/audit.ts';
import { commandClient, projectorClient } from '../../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../../src/services.ts';
import { openStores, type Stores } from '../../test/helpers.ts';
import { startCommandLoad } from '../../test/load.ts';

let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  const ns = isolatedNamespace('ex05');
  stack = await startStack({
    ns,
    only: ['command', 'relay', 'projector'],
    env: {
      projector: {
        LAB_CHAOS: '1',
        // A pause between replayed events: the rebuild takes seconds, orders keep coming.
        PROJECTOR_REBUILD_PAUSE_MS: '15',
        LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'rebuild.ts'),
      },
    },
  });
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

const statusOf = async (url: string): Promise<unknown> => (await fetch(`${url}/status`)).json();

describe('exercise 05: rebuild the read model live', () => {
  it('When the read model is rebuilt while orders keep coming, then the new generation misses nothing', async () => {
    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'ex05',
      name: 'Chair',
      priceCents: 7000,
      stock: 100_000,
    });
    const load = startCommandLoad(stack.url('command'), [product.body.id], 2);
    await waitFor('some history', () => load.ledger.placed >= 30, { timeoutMs: 60_000 });

    const beforeRebuild = load.ledger.placed;
    const rebuilt = await projectorClient(stack.url('projector')).rebuild();
    const placed = load.ledger.placed;
    // Only orders committed while the replay ran can be lost: without any, a rebuild that loses
    // them would pass unseen.
    expect(
      placed - beforeRebuild,
      'no order was committed while the rebuild ran, so this run proves nothing: run it again',
    ).toBeGreaterThan(0);
    await waitFor('orders after the switch', () => load.ledger.placed >= placed + 5, {
      timeoutMs: 60_000,
    });
    await load.stop();
    expect(load.ledger.unexpected).toEqual([]);
    expect(load.ledger.errors).toBe(0);
    // Once every committed event is on the topic and the projector has consumed the topic, what
    // the new generation lacks stays lacking: verify needs only a short settle to tell it from lag.
    await waitFor('the relay and the projector to catch up', async () => {
      const relay = (await statusOf(stack.url('relay'))) as { outbox: { backlog: number } };
      const projector = (await statusOf(stack.url('projector'))) as { lagEvents: number | null };
      return relay.outbox.backlog === 0 && projector.lagEvents === 0;
    });

    expect(rebuilt.status).toBe(200);
    expect(await stores.redis.get(`${stack.ns.redisKeyPrefix}cqrs:generation`)).toBe('g2');
    expect(
      await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 2_000),
      'orders committed while the rebuild replayed are missing from the new generation: every event must be replayed or written there by the live projector',
    ).toEqual([]);
  });
});
