import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { SpawnedService } from '@lab/shared/testkit';
import { waitFor } from './wait.ts';
import { commandClient, queryClient } from '../src/client.ts';
import { verifyLab } from '../src/audit.ts';
import { isolatedNamespace, startStack, stopAllStacks, type Stack } from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';
import { startCommandLoad } from './load.ts';
import { readEventTopic } from './kafka-reader.ts';

let stack: Stack;
let stores: Stores;
let secondRelay: SpawnedService;

beforeAll(async () => {
  const ns = isolatedNamespace('crash');
  stack = await startStack({ ns });
  // Two relays from the start: the advisory lock must keep them from publishing twice.
  const second = await startStack({ ns, only: ['relay'] });
  if (!second.services.relay) throw new Error('second relay did not start');
  secondRelay = second.services.relay;
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

async function products(count: number, stock: number) {
  const commands = commandClient(stack.url('command'));
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await commands.createProduct({
      sku: `crash-${Date.now()}-${i}`,
      name: `Crash ${i}`,
      priceCents: 100 + i,
      stock,
    });
    ids.push(res.body.id);
  }
  return ids;
}

/** Lets the load make progress: waits for `more` further successful orders. */
async function progress(ledger: { placed: number }, more: number) {
  const target = ledger.placed + more;
  await waitFor(`${more} more orders`, () => ledger.placed >= target, { timeoutMs: 60_000 });
}

async function expectExactTotals(ids: string[], initialStock: number) {
  const { rows } = await stores.pool.query<{ sold: number; stock: number }>(
    `SELECT coalesce(sum(l.quantity) FILTER (WHERE o.status = 'placed'), 0)::int AS sold,
            (SELECT sum(stock)::int FROM products WHERE id = ANY($1)) AS stock
       FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.product_id = ANY($1)`,
    [ids],
  );
  const queries = queryClient(stack.url('query'), 10_000);
  const views = await Promise.all(ids.map((id) => queries.product(id)));
  const readSold = views.reduce((sum, v) => sum + Number(v.body.unitsSold), 0);
  const readStock = views.reduce((sum, v) => sum + Number(v.body.stock), 0);
  expect(readSold).toBe(rows[0]?.sold);
  expect(readStock).toBe(rows[0]?.stock);
  expect(readSold + readStock).toBe(ids.length * initialStock);
}

describe('crash recovery', () => {
  it('When the projector is SIGKILLed repeatedly while commands flow, then the read model converges, verify passes, and stock and units sold are exact', async () => {
    const ids = await products(4, 10_000);
    const load = startCommandLoad(stack.url('command'), ids);

    for (let round = 0; round < 2; round++) {
      await progress(load.ledger, 10);
      await stack.kill('projector');
      await progress(load.ledger, 10);
      await stack.start('projector');
    }
    await progress(load.ledger, 10);
    await load.stop();

    expect(load.ledger.unexpected).toEqual([]);
    expect(load.ledger.errors).toBe(0);
    const violations = await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 45_000);
    expect(violations).toEqual([]);
    await expectExactTotals(ids, 10_000);
  });

  it('When relays are SIGKILLed repeatedly while commands flow, then the backlog drains, nothing is published twice out of order, and verify passes', async () => {
    const ids = await products(3, 10_000);
    const load = startCommandLoad(stack.url('command'), ids);

    for (let round = 0; round < 2; round++) {
      await progress(load.ledger, 10);
      await stack.kill('relay');
      await progress(load.ledger, 10);
      await stack.start('relay');
    }
    await secondRelay.kill();
    await progress(load.ledger, 10);
    await load.stop();
    // The write side needs no relay: every command succeeds whatever the relays go through.
    expect(load.ledger.unexpected).toEqual([]);
    expect(load.ledger.errors).toBe(0);

    await waitFor(
      'the outbox backlog to drain',
      async () => {
        const { rows } = await stores.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
        );
        return rows[0]?.n === 0;
      },
      { timeoutMs: 60_000 },
    );
    const violations = await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 45_000);
    expect(violations).toEqual([]);
    await expectExactTotals(ids, 10_000);

    // At-least-once may repeat an event after a crash, but per aggregate the topic never goes backwards.
    const reader = await readEventTopic(
      stack.ns.kafkaBrokers,
      `${stack.ns.topicPrefix}cqrs.events`,
    );
    // Stopped even when an assertion fails: a live member keeps its consumer group from deletion.
    onTestFinished(() => reader.stop());
    // A product's version in the write model is its last event's: 1..version must be on the topic.
    const { rows } = await stores.pool.query<{ id: string; version: number }>(
      'SELECT id, version FROM products WHERE id = ANY($1)',
      [ids],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    await waitFor(
      "each product's latest version on the topic",
      () => rows.every((r) => reader.of(r.id).includes(r.version)),
      { timeoutMs: 60_000 },
    );
    for (const { id, version } of rows) {
      const versions = reader.of(id);
      const firstSeen = versions.filter((v, i) => versions.indexOf(v) === i);
      expect(firstSeen, `product ${id}`).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    }
  });
});
