import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '@lab/shared/testkit';
import { commandClient } from '../src/client.ts';
import { verifyLab } from '../src/audit.ts';
import { isolatedNamespace, startStack, stopAllStacks, type Stack } from '../src/services.ts';
import { closeOnPrivateRedis, openStores, type Stores } from './helpers.ts';
import { startCommandLoad } from './load.ts';
import { waitFor } from './wait.ts';

let redis: PrivateRedis;
let stack: Stack;
let stores: Stores;
const products: string[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  const ns = isolatedNamespace('redisloss', { redisUrl: redis.url });
  stores = openStores(ns);
  stack = await startStack({ ns });
  const commands = commandClient(stack.url('command'));
  for (let i = 0; i < 3; i++) {
    const res = await commands.createProduct({
      sku: `loss-${i}`,
      name: `Loss ${i}`,
      priceCents: 700,
      stock: 100_000,
    });
    products.push(res.body.id);
  }
}, 300_000);
afterAll(async () => {
  await stopAllStacks();
  // The namespace's keys live on the private Redis: it must answer for the clean-up.
  await closeOnPrivateRedis(redis, stores);
});

interface Seen {
  status: number;
  code?: string;
  retryAfter: string | null;
  contentType: string | null;
}

async function probe(url: string, headers: Record<string, string> = {}): Promise<Seen> {
  const res = await fetch(url, { headers });
  const body = (await res.json().catch(() => ({}))) as { code?: string };
  return {
    status: res.status,
    code: body.code,
    retryAfter: res.headers.get('retry-after'),
    contentType: res.headers.get('content-type'),
  };
}

const orderIds = async () =>
  (await stores.pool.query<{ id: string }>('SELECT id FROM orders ORDER BY id')).rows.map(
    (r) => r.id,
  );

/**
 * Restarts the private Redis empty and polls the query service for known aggregates until
 * every one is back; returns every answer seen on the way and the heal time.
 */
async function loseAndHeal(ids: { orders: string[]; products: string[] }) {
  const query = stack.url('query');
  const paths = [
    ...ids.products.map((id) => `/products/${id}`),
    ...ids.orders.slice(-20).map((id) => `/orders/${id}`),
  ];
  const whileDown: Seen[] = [];
  await redis.stop();
  const [, , , anOrder] = ids.orders;
  // Redis down: an unreachable dependency, with or without a consistency-token wait.
  whileDown.push(await probe(`${query}${paths[0] ?? ''}`));
  whileDown.push(await probe(`${query}/customers/load-0/orders`));
  // A consistency token for an order that is in the write model, as a client holds one.
  const token = Buffer.from(JSON.stringify({ v: 1, a: [['order', anOrder, 1]] })).toString(
    'base64url',
  );
  whileDown.push(
    await probe(`${query}/orders/${anOrder ?? ''}`, {
      'x-consistency-token': token,
      'x-consistency-timeout-ms': '500',
    }),
  );

  const readiness = await Promise.all(
    (['query', 'projector'] as const).map(async (name) => {
      return (await fetch(`${stack.url(name)}/readyz`)).status;
    }),
  );

  // The projector is frozen (SIGSTOP, as a long GC pause would) while Redis comes back, so the
  // query service is seen reconnecting to an empty Redis with no checkpoint: without the freeze
  // a fast heal can finish before the query service reconnects, and the state to observe is
  // over before anyone asked.
  const projector = stack.services.projector;
  if (!projector) throw new Error('the projector is not running');
  process.kill(projector.pid, 'SIGSTOP');
  const whileHealing: Seen[] = [];
  try {
    await redis.start();
    await waitFor(
      'the query service to report the read model behind',
      async () => {
        const seen = await probe(`${query}${paths[0] ?? ''}`);
        whileHealing.push(seen);
        return seen.code === 'read-model-behind';
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
  } finally {
    process.kill(projector.pid, 'SIGCONT');
  }
  const restartedAt = Date.now();
  await waitFor(
    'every known aggregate back in the read model',
    async () => {
      const seen = await Promise.all(paths.map((path) => probe(`${query}${path}`)));
      whileHealing.push(...seen);
      return seen.every((s) => s.status === 200);
    },
    { timeoutMs: 120_000, intervalMs: 20 },
  );
  // The heal ends when every view answers again; the audit after it is the test's, not the heal's.
  const healMs = Date.now() - restartedAt;
  const violations = await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 60_000);
  const { rows } = await stores.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
  return { whileDown, readiness, whileHealing, healMs, events: rows[0]?.n ?? 0, violations };
}

describe('Redis loses the read model', () => {
  it(
    'When Redis restarts empty while orders flow, then queries say 503 while it is down, read-model-behind (never 404) while the projector replays, and every aggregate comes back',
    { timeout: 300_000 },
    async () => {
      const load = startCommandLoad(stack.url('command'), products, 2);
      await waitFor('orders flowing', () => load.ledger.placed >= 40);
      const result = await loseAndHeal({ orders: await orderIds(), products });
      await load.stop();
      console.log(
        `read model healed ${result.healMs} ms after the projector met Redis restarted empty, ${result.events} events in the log (flowing)`,
      );
      expect(result.readiness).toEqual([503, 503]);

      for (const seen of result.whileDown) {
        expect(seen).toMatchObject({ status: 503, code: 'dependency-unavailable' });
        expect(seen.contentType).toContain('application/problem+json');
        expect(seen.retryAfter).not.toBeNull();
      }
      // Right after the restart the query service may still be reconnecting (503
      // dependency-unavailable); after that, views not replayed yet are read-model-behind.
      const notOk = result.whileHealing.filter((s) => s.status !== 200);
      for (const seen of notOk) {
        expect(seen.status).toBe(503);
        expect(['read-model-behind', 'dependency-unavailable']).toContain(seen.code);
        expect(seen.retryAfter).not.toBeNull();
      }
      expect(notOk.map((s) => s.code)).toContain('read-model-behind');
      // The command service never talks to Redis: losing it costs no command.
      expect(load.ledger.unexpected).toEqual([]);
      expect(load.ledger.errors).toBe(0);
      // Orders placed after the heal's end offsets came through the live consumer.
      expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 60_000)).toEqual(
        [],
      );
      expect(result.violations).toEqual([]);
      expect(stack.services.projector?.alive()).toBe(true);
      expect(stack.services.query?.alive()).toBe(true);
    },
  );

  it(
    'When Redis restarts empty while no event flows, then the idle projector notices and heals the read model',
    { timeout: 300_000 },
    async () => {
      const result = await loseAndHeal({ orders: await orderIds(), products });
      console.log(
        `read model healed ${result.healMs} ms after the projector met Redis restarted empty, ${result.events} events in the log (idle)`,
      );
      for (const seen of result.whileHealing.filter((s) => s.status !== 200)) {
        expect(seen.status).toBe(503);
        expect(['read-model-behind', 'dependency-unavailable']).toContain(seen.code);
      }
      expect(result.violations).toEqual([]);
      expect(stack.services.projector?.alive()).toBe(true);
    },
  );

  it(
    'When Redis is down and the query service and the projector get SIGTERM, then each stops cleanly with exit 0',
    { timeout: 120_000 },
    async () => {
      await redis.stop();
      for (const name of ['query', 'projector'] as const)
        await waitFor(`${name} to see Redis gone`, async () => {
          const res = await fetch(`${stack.url(name)}/readyz`);
          return res.status === 503;
        });
      // QUIT is refused with no connection; the shutdown must still be a clean one.
      expect(await stack.services.query?.stop()).toBe(0);
      expect(await stack.services.projector?.stop()).toBe(0);
    },
  );
});
