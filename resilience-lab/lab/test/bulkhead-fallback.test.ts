import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../src/services.ts';
import { supplierAdmin } from '../src/client.ts';

let bulkheaded: RunningLab;
let unprotected: RunningLab;
let withFallback: RunningLab;

beforeAll(async () => {
  const pool = { POOL_CONNECTIONS: '4' };
  [bulkheaded, unprotected, withFallback] = await Promise.all([
    startLab({
      gatewayEnv: {
        ...pool,
        PROTECTIONS: 'bulkhead',
        BULKHEAD_MAX_CONCURRENT: '2',
        BULKHEAD_MAX_QUEUE: '2',
        // Room to wait out a 2.5 s price call in the queue: these tests are about the bulkhead's
        // size, not about a deadline turning its waiters away.
        REQUEST_DEADLINE_MS: '10000',
      },
    }),
    startLab({ gatewayEnv: { ...pool, PROTECTIONS: 'none' } }),
    startLab({
      gatewayEnv: {
        PROTECTIONS: 'breaker,fallback',
        BREAKER_VOLUME_THRESHOLD: '3',
        BREAKER_RESET_TIMEOUT_MS: '60000',
      },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([bulkheaded.stop(), unprotected.stop(), withFallback.stop()]);
});

const slowPrices = { target: 'prices' as const, latency: { p50Ms: 2500, p99Ms: 2600 } };

describe('bulkhead', () => {
  it('When prices are slow and overloaded, then overflow gets 503 with Retry-After while /availability keeps answering', async () => {
    // Arrange
    const supplier = supplierAdmin(bulkheaded.supplier.url);
    await supplier.chaos(slowPrices);
    const since = Math.max(0, ...(await supplier.calls()).map((c) => c.id));

    // Act: ten slow quotes at once, then availability checks while they hold their slots.
    const quotes = Array.from({ length: 10 }, (_, i) =>
      fetch(`${bulkheaded.gateway.url}/quotes/s-${i}`),
    );
    await waitFor(
      'two price calls at the supplier',
      async () => (await supplier.counters()).prices.inFlight === 2,
    );
    const availability: Response[] = [];
    for (let i = 0; i < 10; i += 1)
      availability.push(await fetch(`${bulkheaded.gateway.url}/availability/s-${i}`));
    const answered = await Promise.all(quotes);

    // Assert
    expect(availability.map((r) => r.status)).toEqual(Array(10).fill(200));
    // From the supplier's ledger, not a live count: "two price calls in flight" also holds
    // once the first two are done and the two queued ones hold the slots. Every stock call
    // must have been served while the first slow price calls still held their connections.
    const calls = await supplier.calls(since);
    const firstPriceEnd = Math.min(
      ...calls.filter((c) => c.route === 'prices').map((c) => c.endedAt ?? Infinity),
    );
    const stockCalls = calls.filter((c) => c.route === 'stock');
    expect(stockCalls).toHaveLength(10);
    for (const stockCall of stockCalls) expect(stockCall.endedAt).toBeLessThan(firstPriceEnd);
    const rejected = answered.filter((r) => r.status === 503);
    expect(answered.filter((r) => r.status === 200)).toHaveLength(4);
    expect(rejected).toHaveLength(6);
    for (const res of rejected) {
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code).toBe('bulkhead-full');
    }
  });

  it('When a queued caller hangs up, then it leaves the queue and is not counted as a bulkhead rejection', async () => {
    // Arrange: both slots held by slow price calls.
    const gateway = bulkheaded.gateway.url;
    const supplier = supplierAdmin(bulkheaded.supplier.url);
    await supplier.chaos(slowPrices);
    const rejections = async () => {
      const metrics = await (await fetch(`${gateway}/metrics`)).text();
      const line = /gateway_rejections_total\{dependency="prices",reason="bulkhead-full"\} (\d+)/;
      return Number(line.exec(metrics)?.[1] ?? 0);
    };
    const queued = async () => {
      const status = (await (await fetch(`${gateway}/status`)).json()) as {
        dependencies: { prices: { bulkhead: { active: number; queued: number } } };
      };
      return status.dependencies.prices.bulkhead;
    };
    const before = await rejections();
    const holding = [fetch(`${gateway}/quotes/h-1`), fetch(`${gateway}/quotes/h-2`)];
    await waitFor('both slots taken', async () => (await queued()).active === 2);

    // Act: a third caller waits in the queue, then gives up.
    const impatient = new AbortController();
    const gaveUp = fetch(`${gateway}/quotes/h-3`, { signal: impatient.signal }).catch(
      (error: unknown) => (error as Error).name,
    );
    await waitFor('the third caller queued', async () => (await queued()).queued === 1);
    impatient.abort();

    // Assert: its place is free again, and the overflow counter did not take it for overflow.
    expect(await gaveUp).toBe('AbortError');
    await waitFor('the queue empty again', async () => (await queued()).queued === 0);
    expect(await rejections()).toBe(before);
    await Promise.all(holding);
  });

  it('When no slot frees in time for an attempt to finish within the request deadline, then queued callers leave the queue with 503 bulkhead-full instead of waiting on', async () => {
    // Arrange: one slot, a hanging supplier, attempts cut at 1 s, a 1.5 s deadline per call:
    // a queued caller can wait 0.5 s for the slot, which stays busy for 1 s.
    const lab = await startLab({
      gatewayEnv: {
        PROTECTIONS: 'bulkhead,timeout',
        BULKHEAD_MAX_CONCURRENT: '1',
        BULKHEAD_MAX_QUEUE: '10',
        TIMEOUT_MS: '1000',
        REQUEST_DEADLINE_MS: '1500',
      },
    });
    onTestFinished(lab.stop);
    const supplier = supplierAdmin(lab.supplier.url);
    await supplier.chaos({ target: 'prices', faults: { hang: 1 } });

    // Act: four quotes at once.
    const answers = await Promise.all(
      Array.from({ length: 4 }, (_, i) => fetch(`${lab.gateway.url}/quotes/d-${i}`)),
    );

    // Assert: the first times out; the three queued behind it are turned away at their
    // deadline, each as overflow, without ever reaching the supplier.
    const outcomes = await Promise.all(
      answers.map(async (res) => `${res.status} ${((await res.json()) as { code: string }).code}`),
    );
    expect(outcomes.sort()).toEqual([
      '503 bulkhead-full',
      '503 bulkhead-full',
      '503 bulkhead-full',
      '504 supplier-timeout',
    ]);
    expect((await supplier.counters()).prices.started).toBe(1);
    const metrics = await (await fetch(`${lab.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(
      /^gateway_rejections_total\{dependency="prices",reason="bulkhead-full"\} 3$/m,
    );
  });

  it('When there is no bulkhead, then slow prices take every pooled connection and stock calls wait behind them', async () => {
    const supplier = supplierAdmin(unprotected.supplier.url);
    await supplier.chaos(slowPrices);
    const quotes = Array.from({ length: 6 }, (_, i) =>
      fetch(`${unprotected.gateway.url}/quotes/s-${i}`),
    );
    await waitFor(
      'the pool full of price calls',
      async () => (await supplier.counters()).prices.inFlight === 4,
    );

    const availability = await fetch(`${unprotected.gateway.url}/availability/s-1`);

    expect(availability.status).toBe(200);
    const calls = await supplier.calls();
    const stockCall = calls.find((c) => c.route === 'stock')!;
    const firstPriceEnd = Math.min(
      ...calls.filter((c) => c.route === 'prices' && c.endedAt).map((c) => c.endedAt!),
    );
    // The stock call reached the supplier only once a price call gave its connection back.
    expect(stockCall.startedAt).toBeGreaterThanOrEqual(firstPriceEnd);
    await Promise.all(quotes);
  });
});

describe('fallback', () => {
  it('When the supplier fails, then a known SKU is served from the last good price marked as cache, and an unknown one gets what happened to its call: 502 while the breaker is closed, 503 once it is open', async () => {
    // Arrange: a good price is seen once, then the supplier fails until the breaker opens.
    const supplier = supplierAdmin(withFallback.supplier.url);
    const gateway = withFallback.gateway.url;
    // The gateway caches the price somewhere between these two instants (same host clock).
    const beforeFresh = Date.now();
    const fresh = (await (await fetch(`${gateway}/quotes/cached-1`)).json()) as {
      price: unknown;
      source: string;
    };
    const afterFresh = Date.now();
    expect(fresh.source).toBe('supplier');
    await supplier.chaos({ target: 'prices', faults: { error: 1 } });
    // Not a 503: the supplier answered, with a failure, and nothing is cached to hide it.
    const failed = await fetch(`${gateway}/quotes/never-cached`);
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as { code: string }).code).toBe('supplier-error');
    await waitFor('the prices breaker to open', async () => {
      await fetch(`${gateway}/quotes/other`);
      const breakers = (await (await fetch(`${gateway}/breakers`)).json()) as {
        prices: { state: string };
      };
      return breakers.prices.state === 'open';
    });
    const callsBefore = (await supplier.counters()).prices.started;

    // Act
    const beforeCached = Date.now();
    const cachedRes = await fetch(`${gateway}/quotes/cached-1`);
    const afterCached = Date.now();
    const missing = await fetch(`${gateway}/quotes/never-seen`);

    // Assert
    expect(cachedRes.status).toBe(200);
    const cached = (await cachedRes.json()) as { price: unknown; source: string; ageMs: number };
    expect(cached.source).toBe('cache');
    expect(cached.price).toEqual(fresh.price);
    expect(cached.ageMs).toBeGreaterThanOrEqual(0);
    // The age of the last good price, not of the failure or the fallback: at least the time
    // from that price's answer to the cached request, at most from its request to the answer.
    expect(cached.ageMs).toBeGreaterThanOrEqual(beforeCached - afterFresh);
    expect(cached.ageMs).toBeLessThanOrEqual(afterCached - beforeFresh);
    expect(missing.status).toBe(503);
    expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(missing.headers.get('retry-after')).not.toBeNull();
    // Nothing cached for it: the open breaker's own answer, as without the fallback.
    expect(((await missing.json()) as { code: string }).code).toBe('breaker-open');
    expect((await supplier.counters()).prices.started).toBe(callsBefore);
    const metrics = await (await fetch(`${gateway}/metrics`)).text();
    expect(metrics).toMatch(/gateway_fallbacks_total\{dependency="prices",result="served"\} 1/);
  });
});
