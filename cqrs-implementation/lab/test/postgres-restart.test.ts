import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  spawnService,
  startPrivatePostgres,
  type PrivatePostgres,
  type SpawnedService,
} from '@lab/shared/testkit';
import { commandClient } from '../src/client.ts';
import { verifyLab } from '../src/audit.ts';
import { metric } from './metrics.ts';
import {
  ENTRIES,
  isolatedNamespace,
  serviceEnv,
  startStack,
  stopAllStacks,
  type Stack,
} from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';
import { waitFor } from './wait.ts';

let postgres: PrivatePostgres;
let stack: Stack;
let stores: Stores;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  const ns = isolatedNamespace('pgrestart', { databaseUrl: postgres.url });
  stores = openStores(ns);
  stack = await startStack({ ns });
}, 300_000);
afterAll(async () => {
  await stopAllStacks();
  // Unset when the set-up failed before making it (a cluster whose start failed is removed when
  // this process exits).
  const server = postgres as PrivatePostgres | undefined;
  try {
    await server?.start();
    await (stores as Stores | undefined)?.close();
  } finally {
    server?.destroy();
  }
});

interface Answer {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  code?: string;
}

/** Places orders until stopped, keeping every answer and the ids the service acknowledged. */
function orderLoop(commandUrl: string, productIds: string[], workers: number) {
  let running = true;
  const answers: Answer[] = [];
  const acknowledged: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; running; i++) {
      const res = await fetch(`${commandUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customerId: `pg-${w}`,
          lines: [{ productId: productIds[i % productIds.length], quantity: 1 }],
        }),
      });
      const body = (await res.json()) as { id?: string; code?: string };
      answers.push({
        status: res.status,
        contentType: res.headers.get('content-type'),
        retryAfter: res.headers.get('retry-after'),
        code: body.code,
      });
      if (res.status >= 200 && res.status < 300 && body.id) acknowledged.push(body.id);
      // A client told to come back later does so, not in a hot loop.
      if (res.status === 503) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return {
    answers,
    acknowledged,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const readyz = async (url: string) => (await fetch(`${url}/readyz`)).status;

describe('PostgreSQL restart', () => {
  it(
    'When PostgreSQL restarts while orders are placed, then the command service answers 503 with Retry-After meanwhile and every acknowledged order reaches the read model',
    { timeout: 300_000 },
    async () => {
      const commands = commandClient(stack.url('command'));
      const products: string[] = [];
      for (let i = 0; i < 3; i++)
        products.push(
          (
            await commands.createProduct({
              sku: `pg-${i}`,
              name: `Restart ${i}`,
              priceCents: 300,
              stock: 100_000,
            })
          ).body.id,
        );
      const loop = orderLoop(stack.url('command'), products, 3);
      await waitFor('orders flowing', () => loop.acknowledged.length >= 20);

      postgres.stop('fast');
      await waitFor('the command service to refuse orders', () =>
        loop.answers.some((a) => a.status === 503),
      );
      expect(await readyz(stack.url('command'))).toBe(503);
      expect(await readyz(stack.url('relay'))).toBe(503);

      await postgres.start();
      await waitFor(
        'the command service ready again',
        async () => (await readyz(stack.url('command'))) === 200,
      );
      const before = loop.acknowledged.length;
      await waitFor('orders acknowledged after the restart', () =>
        loop.acknowledged.length >= before + 20 ? true : undefined,
      );
      await loop.stop();

      const refused = loop.answers.filter((a) => a.status !== 201);
      expect(refused.length).toBeGreaterThan(0);
      for (const answer of refused) {
        expect(answer).toMatchObject({ status: 503, code: 'dependency-unavailable' });
        expect(answer.contentType).toContain('application/problem+json');
        expect(answer.retryAfter).toMatch(/^\d+$/);
      }

      // Every acknowledged order is in the write model, and the relay (LISTEN connection,
      // claim loop, producer) carried all of them through to the read model by itself.
      const { rows } = await stores.pool.query<{ id: string }>(
        'SELECT id FROM orders WHERE id = ANY($1::uuid[])',
        [loop.acknowledged],
      );
      expect(rows.length).toBe(loop.acknowledged.length);
      await waitFor('the outbox drained', async () => {
        const { rows: backlog } = await stores.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
        );
        return backlog[0]?.n === 0;
      });
      await waitFor('the relay to report an empty backlog', async () => {
        return (await metric(stack.url('relay'), 'cqrs_outbox_backlog')) === 0;
      });
      expect(await metric(stack.url('relay'), 'cqrs_relay_published_total')).toBeGreaterThan(0);
      expect(await verifyLab(stores.pool, stores.redis, stack.ns.redisKeyPrefix, 60_000)).toEqual(
        [],
      );
      // The relay listens again (it does not merely poll): its LISTEN session is back. The
      // shared listen() quotes the channel as an identifier.
      await waitFor('the relay to LISTEN again', async () => {
        const { rows: listening } = await stores.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database()
              AND query IN ('LISTEN outbox_inserted', 'LISTEN "outbox_inserted"')`,
        );
        return (listening[0]?.n ?? 0) > 0;
      });
      for (const name of ['command', 'relay', 'projector', 'query'] as const)
        expect(stack.services[name]?.alive(), `${name} alive`).toBe(true);
      expect(await readyz(stack.url('relay'))).toBe(200);
    },
  );

  it('When the command service starts while PostgreSQL is down, then it listens, reports not-ready naming postgres, refuses commands with 503, and serves once the database is back', async () => {
    // Arrange: the server is down before the service starts; the service's database does not
    // exist yet, so it has everything still to do once PostgreSQL answers
    postgres.stop('fast');
    let late: SpawnedService | undefined;
    try {
      late = await spawnService({
        entry: ENTRIES.command,
        env: { ...serviceEnv(stack.ns), DATABASE_NAME: `${stack.ns.databaseName}_late` },
        // Alive is all it can be now: ready needs the database.
        readyPath: '/healthz',
      });

      // Act
      const ready = await fetch(`${late.url}/readyz`);
      const order = await fetch(`${late.url}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku: 'late-1', name: 'Late', priceCents: 100, stock: 1 }),
      });

      // Assert: it answers, and says why it cannot serve
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks.postgres).toMatch(
        /^down: .*schema is not in place/,
      );
      expect(order.status).toBe(503);
      expect(order.headers.get('content-type')).toContain('application/problem+json');
      expect(order.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await order.json()) as { code: string }).code).toBe('dependency-unavailable');

      await postgres.start();
      const service = late;
      await waitFor('the late command service ready', async () => {
        return (await readyz(service.url)) === 200;
      });
      const created = await fetch(`${late.url}/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku: 'late-1', name: 'Late', priceCents: 100, stock: 1 }),
      });
      expect(created.status).toBe(201);
      expect(late.alive()).toBe(true);
    } finally {
      await postgres.start();
      await late?.stop();
    }
  });
});
