import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PriceCache } from '@lab/resilience-gateway/seams';
import { exerciseModule, waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../../src/services.ts';
import { supplierAdmin } from '../../src/client.ts';

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'breaker,fallback',
      LAB_CHAOS: '1',
      LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'price-cache.ts'),
      BREAKER_VOLUME_THRESHOLD: '3',
      BREAKER_RESET_TIMEOUT_MS: '60000',
    },
  });
});
afterAll(async () => {
  await lab.stop();
});

describe('exercise 05: fall back to the last good price', () => {
  it('When the breaker is open, then a SKU seen before is served from the cache with its age', async () => {
    const gw = lab.gateway.url;
    const fresh = (await (await fetch(`${gw}/quotes/fav-1`)).json()) as { price: unknown };
    const freshAt = Date.now();
    await supplierAdmin(lab.supplier.url).chaos({ target: 'prices', faults: { error: 1 } });
    await waitFor('the breaker to open', async () => {
      await fetch(`${gw}/quotes/other`);
      const b = (await (await fetch(`${gw}/breakers`)).json()) as { prices: { state: string } };
      return b.prices.state === 'open';
    });

    const askedAt = Date.now();
    const res = await fetch(`${gw}/quotes/fav-1`);

    expect(res.status, 'no fallback: the caller got an error while a good price was known').toBe(
      200,
    );
    const body = (await res.json()) as { price: unknown; source: string; ageMs: number };
    expect(body.source).toBe('cache');
    expect(body.price).toEqual(fresh.price);
    // At least the time between the fresh answer and this request: the shopper is told how old.
    expect(body.ageMs, 'the cached price claims to be younger than it is').toBeGreaterThanOrEqual(
      askedAt - freshAt,
    );
    expect(body.ageMs).toBeLessThan(60_000);
    expect((await fetch(`${gw}/quotes/never-seen`)).status).toBe(503);
  });

  it('When more SKUs are remembered than the cache holds, then the one remembered longest ago is dropped and the cache stays at its bound', async () => {
    // The gateway would need 10,001 supplier calls to fill the default bound: the cache is
    // asked directly, as the gateway uses it.
    const { createPriceCache } = (await import(
      pathToFileURL(exerciseModule(import.meta.url, 'price-cache.ts')).href
    )) as { createPriceCache: (maxEntries?: number) => PriceCache };
    const kept = (cache: PriceCache, skus: string[]) =>
      skus.filter((sku) => cache.recall(sku) !== undefined);

    const small = createPriceCache(3);
    for (const sku of ['a', 'b', 'c']) small.remember(sku, { sku });
    small.remember('a', { sku: 'a', again: true });
    small.remember('d', { sku: 'd' });
    expect(
      kept(small, ['a', 'b', 'c', 'd']),
      'with room for 3, after a, b, c, a again and d, b is the one remembered longest ago',
    ).toEqual(['a', 'c', 'd']);
    expect(small.recall('a')?.price).toEqual({ sku: 'a', again: true });

    const skus = Array.from({ length: 1_000 }, (_, i) => `s-${i}`);
    const ten = createPriceCache(10);
    for (const sku of skus) ten.remember(sku, sku);
    expect(kept(ten, skus), 'a cache for 10 SKUs kept another number').toEqual(skus.slice(-10));

    const many = Array.from({ length: 10_001 }, (_, i) => `m-${i}`);
    const byDefault = createPriceCache();
    for (const sku of many) byDefault.remember(sku, sku);
    expect(kept(byDefault, many).length, 'the default cache is not bounded at 10,000').toBe(10_000);
    expect(byDefault.recall('m-0'), 'the oldest SKU outlived the bound').toBeUndefined();
  });
});
