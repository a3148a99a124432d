import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '@lab/shared/testkit';
import { commandClient, queryClient } from '../src/client.ts';
import { isolatedNamespace, startStack, stopAllStacks, type Stack } from '../src/services.ts';
import { closeOnPrivateRedis, openStores, type Stores } from './helpers.ts';
import { metric } from './metrics.ts';
import { waitFor } from './wait.ts';

// The query service's near cache (query-service/src/data-access/near-cache.ts) against a
// private redis-server, so the test may flush and restart it. Entries live for ten minutes
// here: whatever the cache must forget, it forgets because Redis told it, not because time
// passed, so each wait below would run out if an invalidation were missed.
let redis: PrivateRedis;
let stack: Stack;
let stores: Stores;
let commands: ReturnType<typeof commandClient>;
let queries: ReturnType<typeof queryClient>;
let base: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  const ns = isolatedNamespace('nearcache', { redisUrl: redis.url });
  stores = openStores(ns);
  stack = await startStack({ ns, env: { query: { NEAR_CACHE_TTL_MS: '600000' } } });
  commands = commandClient(stack.url('command'));
  queries = queryClient(stack.url('query'));
  base = `${ns.redisKeyPrefix}cqrs:`;
}, 300_000);
afterAll(async () => {
  await stopAllStacks();
  // The namespace's keys live on the private Redis: it must answer for the clean-up.
  await closeOnPrivateRedis(redis, stores);
});

const reads = (result: 'hit' | 'miss' | 'off' | 'bypass') =>
  metric(stack.url('query'), 'cqrs_query_near_cache_reads_total', `result="${result}"`);

async function newProduct(stock = 10) {
  const sku = `near-${Math.random().toString(36).slice(2)}`;
  const created = await commands.createProduct({
    sku,
    name: `Near ${sku}`,
    priceCents: 300,
    stock,
  });
  expect(created.status).toBe(201);
  // Projected: the query answers it.
  await queries.get(`/products/${created.body.id}`, created.body.consistencyToken);
  return created.body;
}

/** Reads the product until one answer came from memory, and returns that answer's body. */
async function cachedRead(id: string) {
  return waitFor('a read of the product answered from memory', async () => {
    const hits = await reads('hit');
    const res = await queries.get<{ stock: number; name: string }>(`/products/${id}`);
    expect(res.status).toBe(200);
    return (await reads('hit')) > hits ? res.body : undefined;
  });
}

describe('The near cache', () => {
  it('When a product is read again with nothing written, then memory answers; when the projector changes it, then the next reads show the change', async () => {
    const product = await newProduct(10);
    expect((await cachedRead(product.id)).stock).toBe(10);

    const restocked = await commands.restock(product.id, 5);
    expect(restocked.status).toBe(200);

    const seen = await waitFor('the restock visible without a token', async () => {
      const res = await queries.get<{ stock: number }>(`/products/${product.id}`);
      return res.body.stock === 15 ? res.body : undefined;
    });
    expect(seen.stock).toBe(15);
    // And kept again once read: the new document is what memory now answers.
    expect((await cachedRead(product.id)).stock).toBe(15);
  });

  it('When a read carries a consistency token, then it is answered from Redis, never from memory', async () => {
    const product = await newProduct(4);
    await cachedRead(product.id);
    const bypassed = await reads('bypass');
    const hits = await reads('hit');

    const restocked = await commands.restock(product.id, 1);
    const res = await queries.get<{ stock: number }>(
      `/products/${product.id}`,
      restocked.body.consistencyToken,
    );

    expect(res.status).toBe(200);
    expect(res.body.stock).toBe(5);
    expect(await reads('bypass')).toBe(bypassed + 1);
    expect(await reads('hit')).toBe(hits);
  });

  it('When a rebuild switches the live generation, then no document of the old one is answered from memory', async () => {
    const product = await newProduct(2);
    const doc = JSON.parse(
      (await stores.redis.hget(`${base}g1:product:${product.id}`, 'doc')) ?? '{}',
    ) as Record<string, unknown>;
    // A generation as a rebuild leaves it, whose document for this product differs; written
    // before the live one's is kept, so only the switch itself can make the cache forget it.
    await stores.redis.hset(`${base}g7:product:${product.id}`, {
      version: '1',
      doc: JSON.stringify({ ...doc, name: 'rebuilt' }),
    });
    expect((await cachedRead(product.id)).name).toBe(doc.name);

    await stores.redis.set(`${base}generation`, 'g7');
    try {
      const seen = await waitFor('the rebuilt generation answered', async () => {
        const res = await queries.get<{ name: string }>(`/products/${product.id}`);
        return res.body.name === 'rebuilt' ? res.body : undefined;
      });
      expect(seen.name).toBe('rebuilt');
    } finally {
      await stores.redis.set(`${base}generation`, 'g1');
    }
  });

  it('When the database is flushed, then the cache forgets everything and the query says the read model is behind until the projector restores it', async () => {
    const product = await newProduct(3);
    await cachedRead(product.id);

    await stores.redis.flushdb();
    // The checkpoint went with the documents: the answer is read-model-behind (or, once the
    // projector has replayed the log, the product again), never the remembered document
    // served as if nothing happened. Waiting for the 503 proves memory stopped answering.
    const behind = await waitFor('the query to notice the flush', async () => {
      const res = await queries.get<{ code?: string }>(`/products/${product.id}`);
      return res.status === 503 ? res.body : undefined;
    });
    expect(behind.code).toBe('read-model-behind');
    await waitFor('the projector to restore the product', async () => {
      const res = await queries.get(`/products/${product.id}`);
      return res.status === 200;
    });
  });

  it('When Redis freezes, then a document in memory is still answered, since nothing can change it meanwhile, and any other read gets 503 after the command timeout', async () => {
    const kept = await newProduct(7);
    // Read only with its token so far, which never keeps a document.
    const other = await newProduct(8);
    await cachedRead(kept.id);

    redis.freeze();
    try {
      const fromMemory = await queries.get<{ stock: number }>(`/products/${kept.id}`);
      expect(fromMemory.status).toBe(200);
      expect(fromMemory.body.stock).toBe(7);
      const fromRedis = await queries.get<{ code?: string }>(`/products/${other.id}`);
      expect(fromRedis.status).toBe(503);
      expect(fromRedis.body.code).toBe('dependency-unavailable');
      expect(fromRedis.headers.get('retry-after')).not.toBeNull();
      for (const name of ['query', 'projector'] as const)
        expect((await fetch(`${stack.url(name)}/readyz`)).status).toBe(503);
    } finally {
      redis.thaw();
    }
  });

  it('When Redis restarts, then memory stops answering while it is away and answers again once tracking is back', async () => {
    const product = await newProduct(6);
    await cachedRead(product.id);

    await redis.stop();
    await waitFor('the query service to report Redis unreachable', async () => {
      return (await fetch(`${stack.url('query')}/readyz`)).status === 503;
    });
    const away = await queries.get<{ code?: string }>(`/products/${product.id}`);
    expect(away.status).toBe(503);
    expect(away.body.code).toBe('dependency-unavailable');

    await redis.start();
    await waitFor('the projector to restore the product', async () => {
      const res = await queries.get(`/products/${product.id}`);
      return res.status === 200;
    });
    // A new connection, a new client id: tracking was set up again, or nothing would be kept.
    expect((await cachedRead(product.id)).stock).toBe(6);
  });
});
