import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLabCommand } from '@lab/shared/testkit';
import { waitFor } from './wait.ts';
import { verifyLab } from '../src/audit.ts';
import { commandClient, projectorClient, queryClient } from '../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';
import { startCommandLoad } from './load.ts';

let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  const ns = isolatedNamespace('rebuild');
  // A pause between replayed events keeps the rebuild's window open while orders flow.
  stack = await startStack({
    ns,
    env: { projector: { LAB_CHAOS: '1', PROJECTOR_REBUILD_PAUSE_MS: '20' } },
  });
  stores = openStores(ns);
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

describe('live rebuild', () => {
  it('When a rebuild is asked for with a malformed body, then 400 problem+json names the field and nothing is built', async () => {
    const projector = projectorClient(stack.url('projector'));
    for (const body of [{ force: 'yes' }, { forse: true }]) {
      const reply = await projector.rebuild(body);
      expect(reply.status).toBe(400);
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(reply.body)).toContain(Object.keys(body)[0]);
    }
    expect(await stores.redis.get(`${stack.ns.redisKeyPrefix}cqrs:building`)).toBeNull();
    expect(await stores.redis.get(`${stack.ns.redisKeyPrefix}cqrs:generation`)).toBeNull();
  });

  it('When the read model is rebuilt while commands flow, then queries keep answering from the old generation, the switch is atomic, and no event is lost', async () => {
    const commands = commandClient(stack.url('command'));
    const queries = queryClient(stack.url('query'), 10_000);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (
          await commands.createProduct({
            sku: `rb-${i}`,
            name: `Rebuild ${i}`,
            priceCents: 99,
            stock: 10_000,
          })
        ).body.id,
      );
    const load = startCommandLoad(stack.url('command'), ids, 3);
    await waitFor('some history', () => load.ledger.placed >= 40, { timeoutMs: 60_000 });

    const answers: number[] = [];
    const reading = { on: true };
    const reader = (async () => {
      while (reading.on) answers.push((await queries.product(ids[0] ?? '')).status);
    })();
    const projector = projectorClient(stack.url('projector'));
    const rebuilding = projector.rebuild();
    await waitFor('the new generation to be announced', async () =>
      Boolean(await stores.redis.get(`${stack.ns.redisKeyPrefix}cqrs:building`)),
    );
    // One rebuild at a time: a second one while the first runs is refused, not queued.
    const second = await projector.rebuild({});
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(second.body).toMatchObject({ code: 'rebuild-in-progress', building: 'g2' });
    // Not even with force, which discards only a rebuild that crashed: discarding this one
    // would drop the generation both would then switch readers to.
    const forced = await projector.rebuild({ force: true });
    expect(forced.status).toBe(409);
    expect(forced.body).toMatchObject({ code: 'rebuild-in-progress', building: 'g2' });
    const rebuilt = await rebuilding;
    expect(rebuilt.status).toBe(200);
    const result = rebuilt.body;
    const placedAtSwitch = load.ledger.placed;
    await waitFor('orders after the switch', () => load.ledger.placed >= placedAtSwitch + 10, {
      timeoutMs: 60_000,
    });
    await load.stop();
    reading.on = false;
    await reader;
    expect(load.ledger.unexpected).toEqual([]);
    expect(load.ledger.errors).toBe(0);

    expect(result).toMatchObject({ from: 'g1', to: 'g2', products: 3 });
    expect(result.orders).toBeGreaterThanOrEqual(40);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((status) => status === 200)).toBe(true);
    expect(await stores.redis.keys(`${stack.ns.redisKeyPrefix}cqrs:g1:*`)).toEqual([]);
    expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 30_000)).toEqual([]);
  });

  it('When a user runs `pnpm lab cqrs rebuild`, then the projector builds the next generation and the task says so', async () => {
    const before = await stores.redis.get(`${stack.ns.redisKeyPrefix}cqrs:generation`);
    const run = await runLabCommand(['cqrs', 'rebuild'], {
      env: { PROJECTOR_URL: stack.url('projector') },
      timeoutMs: 120_000,
    });

    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
    expect(before).toBe('g2');
    expect(run.stdout).toMatch(/rebuilt 3 products and \d+ orders: g2 -> g3/);
    expect(await stores.redis.get(`${stack.ns.redisKeyPrefix}cqrs:generation`)).toBe('g3');
    expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 30_000)).toEqual([]);
  });
});
