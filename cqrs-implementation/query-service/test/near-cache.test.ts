import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@lab/shared/logging';
import { createRedis, type Redis } from '@lab/shared/redis';
import { startPrivateRedis, waitFor, type PrivateRedis } from '@lab/shared/testkit';
import { createNearCache, type NearCache } from '../src/data-access/near-cache.ts';

// The near cache's races, made to happen in order: an invalidation that overtakes the reply
// of a read in flight. On loopback they are rare, which is why a reader cannot rely on seeing
// one by chance, so each test here writes from inside the read itself and waits until the
// invalidation has been delivered before letting the reply go.
const BASE = 'nc:cqrs:';
let server: PrivateRedis;
let reader: Redis;
let writer: Redis;
let cache: NearCache;

beforeAll(async () => {
  server = await startPrivateRedis();
  reader = createRedis(server.url);
  writer = createRedis(server.url);
  cache = createNearCache(reader, BASE, {
    maxBytes: 1024 * 1024,
    // Nothing expires during a test: what is forgotten was forgotten because Redis said so.
    ttlMs: 600_000,
    logger: createLogger('near-cache-test', 'silent'),
  });
  await waitFor('the near cache to arm', () => cache.armed(), { timeoutMs: 10_000 });
});
afterAll(async () => {
  cache.close();
  reader.disconnect();
  writer.disconnect();
  await server.destroy();
});

const size = (value: string) => value.length;
let sentinels = 0;

/**
 * Returns once every invalidation Redis sent before this call has been handled: a sentinel
 * document is kept, written, and read until it is gone from memory. Invalidations come in
 * order on one connection, so the sentinel's is handled after every earlier one.
 */
async function invalidationsDelivered() {
  const key = `sentinel:${++sentinels}`;
  await cache.read(key, () => Promise.resolve('kept'), size);
  await writer.set(`${BASE}g1:${key}`, 'written');
  await waitFor(
    'the sentinel invalidated',
    async () => {
      let loaded = false;
      await cache.read(
        key,
        () => {
          loaded = true;
          return Promise.resolve('reloaded');
        },
        size,
      );
      return loaded;
    },
    { timeoutMs: 10_000, intervalMs: 5 },
  );
}

const fromRedis = (key: string) => async () =>
  (await reader.hget(`${BASE}g1:${key}`, 'doc')) ?? undefined;

describe('The near cache under races', () => {
  it('When a key is written while its read is on the way back, then the reply is answered but not kept', async () => {
    await writer.hset(`${BASE}g1:product:a`, 'doc', 'v1');

    const answered = await cache.read(
      'product:a',
      async () => {
        const doc = await fromRedis('product:a')();
        // The write lands after the read, and its invalidation arrives before the reply.
        await writer.hset(`${BASE}g1:product:a`, 'doc', 'v2');
        await invalidationsDelivered();
        return doc;
      },
      size,
    );

    expect(answered).toBe('v1');
    expect(await cache.read('product:a', fromRedis('product:a'), size)).toBe('v2');
  });

  it('When the live generation switches while a read is on the way back, then the reply is not kept', async () => {
    await writer.hset(`${BASE}g1:product:b`, 'doc', 'old generation');

    await cache.read(
      'product:b',
      async () => {
        const doc = await fromRedis('product:b')();
        await writer.set(`${BASE}generation`, 'g2');
        await invalidationsDelivered();
        return doc;
      },
      size,
    );
    let loads = 0;
    const next = await cache.read(
      'product:b',
      () => {
        loads += 1;
        return Promise.resolve('new generation');
      },
      size,
    );

    expect(loads).toBe(1);
    expect(next).toBe('new generation');
  });

  it('When a key is written after its document was kept, then the next read goes to Redis', async () => {
    await writer.hset(`${BASE}g1:order:c`, 'doc', 'placed');
    // That write's own invalidation first: overtaking the read below, it would (rightly) keep
    // the read's reply out of memory, and the second read would not be a hit.
    await invalidationsDelivered();
    expect(await cache.read('order:c', fromRedis('order:c'), size)).toBe('placed');
    expect(await cache.read('order:c', () => Promise.resolve('not asked'), size)).toBe('placed');

    await writer.hset(`${BASE}g1:order:c`, 'doc', 'cancelled');
    await invalidationsDelivered();

    expect(await cache.read('order:c', fromRedis('order:c'), size)).toBe('cancelled');
  });
});
