import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandClient } from '../src/client.ts';
import { verifyLab } from '../src/audit.ts';
import { isolatedNamespace, startStack, stopAllStacks, type Stack } from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';
import { waitFor } from './wait.ts';

let stack: Stack;
let stores: Stores;

// The chaos knob holds each batch this long before applying it: the window in which the test
// empties the read model and sends SIGTERM, so the batch meets a store with no checkpoint while
// the healer is already stopped.
const HOLD_MS = 4000;

beforeAll(async () => {
  const ns = isolatedNamespace('projstop');
  stack = await startStack({
    ns,
    only: ['command', 'relay', 'projector'],
    env: {
      projector: {
        LAB_CHAOS: '1',
        PROJECTOR_APPLY_DELAY_MS: String(HOLD_MS),
        // The hold is announced at debug level.
        LOG_LEVEL: 'debug',
        // Nothing but the held batch may notice the emptied store: no periodic check.
        PROJECTOR_CHECKPOINT_CHECK_MS: '3600000',
      },
    },
  });
  stores = openStores(ns);
}, 300_000);
afterAll(async () => {
  await stopAllStacks();
  await (stores as Stores | undefined)?.close();
});

const checkpoint = async () => {
  const res = await fetch(`${stack.url('projector')}/status`);
  return ((await res.json()) as { checkpoint: string }).checkpoint;
};

describe('projector shutdown', () => {
  it(
    'When Redis forgets the read model while a batch waits to be applied and the projector gets SIGTERM, then it exits 0 in bounded time and the next projector applies the batch',
    { timeout: 180_000 },
    async () => {
      const projector = stack.services.projector;
      if (!projector) throw new Error('the projector is not running');
      await waitFor('a whole read model', async () => (await checkpoint()) === 'ready');

      const created = await commandClient(stack.url('command')).createProduct({
        sku: 'held-at-shutdown',
        name: 'Held at shutdown',
        priceCents: 900,
        stock: 4,
      });
      expect(created.status).toBe(201);
      await waitFor('the projector holding the batch', () =>
        projector.logs.some((line) => line.includes('chaos: holding the batch')),
      );

      // Redis forgets the read model (as one restarted empty would), checkpoint included.
      const keys = await stores.redis.keys(`${stack.ns.redisKeyPrefix}*`);
      expect(keys).toContain(`${stack.ns.redisKeyPrefix}cqrs:checkpoint`);
      await stores.redis.unlink(...keys);

      const exited = projector.stop();
      try {
        // The held batch then meets a store with no checkpoint and a healer already stopped.
        await waitFor('the projector to exit after SIGTERM', () => !projector.alive(), {
          timeoutMs: 30_000,
        });
        expect(await exited).toBe(0);
      } finally {
        // A projector that hangs must not hold the file's clean-up.
        await projector.kill();
      }

      // Not committed, the batch comes again: the next projector heals the store and applies it.
      const next = await stack.start('projector', { PROJECTOR_APPLY_DELAY_MS: '0' });
      await waitFor('a whole read model again', async () => (await checkpoint()) === 'ready');
      expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 60_000)).toEqual(
        [],
      );
      expect(next.alive()).toBe(true);
    },
  );
});
