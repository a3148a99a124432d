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

interface RelayStatus {
  service: string;
  outbox: { backlog: number; oldestUnpublishedAgeMs: number | null };
  publishedSinceStart: number;
  topic: {
    name: string;
    reachable: boolean;
    partitions: { partition: number; end: number }[] | null;
    events: number | null;
  };
}

interface ProjectorStatus {
  service: string;
  topic: string;
  kafkaReachable: boolean;
  partitions: { partition: number; committed: number; end: number; lagEvents: number }[] | null;
  lagEvents: number | null;
  deadLetters: number | null;
  checkpoint: string;
}

const status = async <T>(url: string) => {
  const res = await fetch(`${url}/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
};

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
    // A heal still replaying into the fresh store would hold a lease and a `healing`
    // checkpoint that the dump after the replay no longer has.
    await waitFor('a whole read model', async () => {
      const projector = await status<ProjectorStatus>(stack.url('projector'));
      return projector.checkpoint === 'ready';
    });
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

// What the console reads. Declared after the replays: the projector here parks every
// OrderPlaced (a chaos knob), which a rewind above would otherwise meet. The topic and the
// dead-letter topic already hold what the replays wrote, so counts are taken as growth.
describe('the relay and projector status endpoints', () => {
  let before: { events: number; published: number; deadLetters: number };

  it('When events flow, then the relay reports an empty backlog and the topic ends, and the projector reports no lag, a ready checkpoint and each dead letter', async () => {
    await restartProjector({ LAB_CHAOS: '1', PROJECTOR_POISON_TYPES: 'OrderPlaced' });
    const settled = await waitFor('the relay and projector to settle', async () => {
      const relay = await status<RelayStatus>(stack.url('relay'));
      const projector = await status<ProjectorStatus>(stack.url('projector'));
      return relay.outbox.backlog === 0 &&
        relay.topic.events !== null &&
        projector.lagEvents === 0 &&
        projector.deadLetters !== null
        ? { relay, projector }
        : undefined;
    });
    before = {
      events: settled.relay.topic.events ?? 0,
      published: settled.relay.publishedSinceStart,
      deadLetters: settled.projector.deadLetters ?? 0,
    };
    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'status',
      name: 'Status',
      priceCents: 100,
      stock: 10,
    });
    expect(product.status).toBe(201);
    const order = await commands.placeOrder({
      customerId: 'status',
      lines: [{ productId: product.body.id, quantity: 1 }],
    });
    expect(order.status).toBe(201);

    // Product created, product sold, order placed: three more events on the topic.
    const relay = await waitFor('the relay to publish all three events', async () => {
      const s = await status<RelayStatus>(stack.url('relay'));
      // The counter moves once the batch is marked published, just after Kafka acknowledged it.
      return s.outbox.backlog === 0 &&
        s.topic.events === before.events + 3 &&
        s.publishedSinceStart === before.published + 3
        ? s
        : undefined;
    });
    expect(relay).toMatchObject({
      service: 'relay',
      outbox: { backlog: 0, oldestUnpublishedAgeMs: null },
      topic: { name: `${stack.ns.topicPrefix}cqrs.events`, reachable: true },
    });
    expect(relay.topic.partitions?.reduce((sum, p) => sum + p.end, 0)).toBe(before.events + 3);

    const projector = await waitFor('the projector to commit every event', async () => {
      const s = await status<ProjectorStatus>(stack.url('projector'));
      return s.lagEvents === 0 && s.deadLetters === before.deadLetters + 1 ? s : undefined;
    });
    expect(projector).toMatchObject({
      service: 'projector',
      kafkaReachable: true,
      checkpoint: 'ready',
      lagEvents: 0,
      deadLetters: before.deadLetters + 1,
    });
    expect(projector.partitions?.map((p) => p.end)).toEqual(
      relay.topic.partitions?.map((p) => p.end),
    );
    // The lag gauge is the same reading as the status page, summed over the partitions.
    expect(await metric(stack.url('projector'), 'cqrs_projector_lag_events')).toBe(0);
  });

  it('When the dead letters are listed and replayed, then each shows why it was parked, and one the projector still rejects comes back to the dead-letter topic', async () => {
    const projectorUrl = stack.url('projector');
    const listed = await fetch(`${projectorUrl}/dead-letters`);
    expect(listed.status).toBe(200);
    const { total, deadLetters } = (await listed.json()) as {
      total: number;
      deadLetters: { summary: string; reason: string }[];
    };
    expect(total).toBe(before.deadLetters + 1);
    // Newest first: the OrderPlaced parked just now heads the list.
    expect(deadLetters[0]?.summary).toMatch(/^OrderPlaced order:/);
    expect(deadLetters[0]?.reason).toContain('chaos: projector configured to reject OrderPlaced');

    // The replays above already sent the older dead letter back (the same replayer group):
    // only the new one goes.
    const replay = await fetch(`${projectorUrl}/dead-letters/replays`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ replayed: 1 });
    await waitFor('the replayed poison event to be parked again', async () => {
      const s = await status<ProjectorStatus>(projectorUrl);
      return s.deadLetters === before.deadLetters + 2 && s.lagEvents === 0;
    });

    const bad = await fetch(`${projectorUrl}/dead-letters?limit=0`);
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toEqual(['query.limit']);
  });

  it('When the projector is down, then the relay still reports the topic ends, which run ahead of the offsets the projector last committed', async () => {
    const caughtUp = await status<ProjectorStatus>(stack.url('projector'));
    // A partition the projector never committed on reports -1: nothing consumed there.
    const committed =
      caughtUp.partitions?.reduce((sum, p) => sum + Math.max(0, p.committed), 0) ?? 0;
    // Caught up: everything on the topic (the replayed dead letter included) is committed.
    expect(committed).toBe(caughtUp.partitions?.reduce((sum, p) => sum + p.end, 0));
    await stack.kill('projector');
    const commands = commandClient(stack.url('command'));
    const product = await commands.createProduct({
      sku: 'status-2',
      name: 'Status 2',
      priceCents: 100,
      stock: 10,
    });
    expect(product.status).toBe(201);

    const relay = await waitFor('the relay to publish the new event', async () => {
      const s = await status<RelayStatus>(stack.url('relay'));
      return s.outbox.backlog === 0 && (s.topic.events ?? 0) > committed ? s : undefined;
    });
    expect(relay.topic.events).toBe(committed + 1);
  });
});
