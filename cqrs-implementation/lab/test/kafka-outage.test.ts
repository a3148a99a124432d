import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait.ts';
import { commandClient } from '../src/client.ts';
import { verifyLab } from '../src/audit.ts';
import { spawnService } from '@lab/shared/testkit';
import {
  ENTRIES,
  isolatedNamespace,
  serviceEnv,
  startStack,
  type Stack,
  stopAllStacks,
} from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';
import { startCommandLoad } from './load.ts';
import { startPrivateBroker } from './private-broker.ts';

let broker: Awaited<ReturnType<typeof startPrivateBroker>>;
let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  broker = await startPrivateBroker();
  const ns = isolatedNamespace('outage', { kafkaBrokers: broker.brokers });
  stack = await startStack({ ns });
  stores = openStores(ns);
}, 300_000);
afterAll(async () => {
  await stopAllStacks();
  // Unset when the set-up failed before making them (the broker cleans up its own failed start).
  await (broker as typeof broker | undefined)?.destroy();
  await (stores as Stores | undefined)?.close();
});

const backlog = async () => {
  const { rows } = await stores.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
  );
  return rows[0]?.n ?? -1;
};

describe('Kafka outage', () => {
  it(
    'When the broker is killed and restarted while commands flow, then the outbox backlog drains and nothing is lost',
    { timeout: 400_000 },
    async () => {
      const commands = commandClient(stack.url('command'));
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await commands.createProduct({
          sku: `outage-${i}`,
          name: `Outage ${i}`,
          priceCents: 500,
          stock: 10_000,
        });
        ids.push(res.body.id);
      }
      const load = startCommandLoad(stack.url('command'), ids, 3);
      await waitFor('orders flowing', () => load.ledger.placed >= 10, { timeoutMs: 60_000 });

      await broker.stop('SIGKILL');
      const placedWhileDown = load.ledger.placed;
      // Up, but not ready: neither can do its work without the broker.
      for (const name of ['relay', 'projector'] as const)
        await waitFor(`${name} /readyz naming kafka`, async () => {
          const res = await fetch(`${stack.url(name)}/readyz`);
          const { checks } = (await res.json()) as { checks: Record<string, string> };
          return res.status === 503 && checks.kafka?.startsWith('down');
        });
      // The write side does not need Kafka: commands keep succeeding and the outbox fills up.
      await waitFor(
        'commands accepted while Kafka is down',
        () => load.ledger.placed >= placedWhileDown + 20,
        { timeoutMs: 60_000 },
      );
      expect(await backlog()).toBeGreaterThan(0);

      await broker.restart();
      const placedAfter = load.ledger.placed;
      await waitFor('more orders after the restart', () => load.ledger.placed >= placedAfter + 10, {
        timeoutMs: 60_000,
      });
      await load.stop();

      expect(load.ledger.unexpected).toEqual([]);
      expect(load.ledger.errors).toBe(0);
      await waitFor('the outbox backlog to drain', async () => (await backlog()) === 0, {
        timeoutMs: 90_000,
      });
      const violations = await verifyLab(
        stores.pool,
        stores.redis,
        stack.ns.redisKeyPrefix,
        60_000,
      );
      expect(violations).toEqual([]);
      // Neither the relay nor the projector gave up on the broker: both rode the outage out.
      for (const name of ['relay', 'projector'] as const) {
        expect(stack.services[name]?.alive(), `${name} alive`).toBe(true);
        expect((await fetch(`${stack.url(name)}/readyz`)).status).toBe(200);
      }
    },
  );

  it(
    'When the projector starts while the broker is down, then it listens, /readyz says it is not consuming yet, and it becomes ready by itself once the broker is back',
    { timeout: 300_000 },
    async () => {
      await stack.kill('projector');
      await broker.stop('SIGKILL');
      // Ready is what this test waits for, so the start waits only for the port.
      const projector = await spawnService({
        entry: ENTRIES.projector,
        env: serviceEnv(stack.ns),
        readyPath: '/healthz',
        timeoutMs: 120_000,
      });
      try {
        const waiting = await fetch(`${projector.url}/readyz`);
        const { checks } = (await waiting.json()) as { checks: Record<string, string> };
        expect(waiting.status).toBe(503);
        expect(checks).toMatchObject({ redis: 'up' });
        expect(checks.consuming).toMatch(/not consuming the event topic yet/);

        await broker.restart();
        await waitFor(
          'the projector ready',
          async () => (await fetch(`${projector.url}/readyz`)).status === 200,
          { timeoutMs: 120_000 },
        );
        // Consuming: an event published now reaches the read model.
        const created = await commandClient(stack.url('command')).createProduct({
          sku: 'after-a-cold-start',
          name: 'After a cold start',
          priceCents: 700,
          stock: 3,
        });
        await waitFor(
          'the new product in the read model',
          async () =>
            (await fetch(`${stack.url('query')}/products/${created.body.id}`)).status === 200,
          { timeoutMs: 60_000 },
        );
        expect(projector.alive()).toBe(true);
      } finally {
        await projector.stop();
      }
    },
  );
});
