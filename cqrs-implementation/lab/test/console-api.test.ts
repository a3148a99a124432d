import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait.ts';
import { commandClient } from '../src/client.ts';
import { isolatedNamespace, startStack, type Stack, stopAllStacks } from '../src/services.ts';

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

let stack: Stack;

beforeAll(async () => {
  // The projector parks every OrderPlaced in the dead-letter topic (a chaos knob), so the
  // status can be seen counting dead letters.
  stack = await startStack({
    ns: isolatedNamespace('status'),
    env: { projector: { LAB_CHAOS: '1', PROJECTOR_POISON_TYPES: 'OrderPlaced' } },
  });
});
afterAll(async () => {
  await stopAllStacks();
});

describe('the relay and projector status endpoints', () => {
  it('When events flow, then the relay reports an empty backlog and the topic ends, and the projector reports no lag, a ready checkpoint and each dead letter', async () => {
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

    // Product created, product sold, order placed: three events on the topic.
    const relay = await waitFor('the relay to publish all three events', async () => {
      const s = await status<RelayStatus>(stack.url('relay'));
      // The counter moves once the batch is marked published, just after Kafka acknowledged it.
      return s.outbox.backlog === 0 && s.topic.events === 3 && s.publishedSinceStart === 3
        ? s
        : undefined;
    });
    expect(relay).toMatchObject({
      service: 'relay',
      outbox: { backlog: 0, oldestUnpublishedAgeMs: null },
      topic: { name: `${stack.ns.topicPrefix}cqrs.events`, reachable: true },
    });
    expect(relay.topic.partitions?.reduce((sum, p) => sum + p.end, 0)).toBe(3);

    const projector = await waitFor('the projector to commit every event', async () => {
      const s = await status<ProjectorStatus>(stack.url('projector'));
      return s.lagEvents === 0 && s.deadLetters === 1 ? s : undefined;
    });
    expect(projector).toMatchObject({
      service: 'projector',
      kafkaReachable: true,
      checkpoint: 'ready',
      lagEvents: 0,
      deadLetters: 1,
    });
    expect(projector.partitions?.map((p) => p.end)).toEqual(
      relay.topic.partitions?.map((p) => p.end),
    );
  });

  it('When the dead letters are listed and replayed, then each shows why it was parked, and one the projector still rejects comes back to the dead-letter topic', async () => {
    const projectorUrl = stack.url('projector');
    const listed = await fetch(`${projectorUrl}/dead-letters`);
    expect(listed.status).toBe(200);
    const { total, deadLetters } = (await listed.json()) as {
      total: number;
      deadLetters: { summary: string; reason: string }[];
    };
    expect(total).toBe(1);
    expect(deadLetters[0]?.summary).toMatch(/^OrderPlaced order:/);
    expect(deadLetters[0]?.reason).toContain('chaos: projector configured to reject OrderPlaced');

    const replay = await fetch(`${projectorUrl}/dead-letters/replays`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ replayed: 1 });
    await waitFor('the replayed poison event to be parked again', async () => {
      const s = await status<ProjectorStatus>(projectorUrl);
      return s.deadLetters === 2 && s.lagEvents === 0;
    });

    const bad = await fetch(`${projectorUrl}/dead-letters?limit=0`);
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path)).toEqual(['query.limit']);
  });

  it('When the projector is down, then the relay still reports the topic ends, which run ahead of the offsets the projector last committed', async () => {
    const before = await status<ProjectorStatus>(stack.url('projector'));
    // A partition the projector never committed on reports -1: nothing consumed there.
    const committed = before.partitions?.reduce((sum, p) => sum + Math.max(0, p.committed), 0) ?? 0;
    // Caught up: everything on the topic (the replayed dead letter included) is committed.
    expect(committed).toBe(before.partitions?.reduce((sum, p) => sum + p.end, 0));
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
