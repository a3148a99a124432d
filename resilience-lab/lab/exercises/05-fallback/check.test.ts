import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
