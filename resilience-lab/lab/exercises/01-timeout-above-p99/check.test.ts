import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../../src/services.ts';
import { supplierAdmin } from '../../src/client.ts';

const tuning = pathToFileURL(exerciseModule(import.meta.url, 'tuning.ts')).href;
const { TIMEOUT_MS } = (await import(tuning)) as { TIMEOUT_MS: number };

/**
 * Enough quotes for the slow tail to show: a timeout at the p99 cuts about 1 call in 100.
 * The chaos generator draws one latency per supplier call from the seed, in arrival order, so
 * while the breaker stays closed (every quote reaches the supplier) the 300 calls get the same
 * 300 latencies however the concurrent calls interleave: two above 400 ms (none above 420 ms),
 * nine above 300 ms, 38 above 150 ms. A timeout at or below the p99 therefore fails at least
 * two calls on every run; one well above it fails none.
 */
const QUOTES = 300;
/** Fewer than the gateway's 10 pooled connections, so no attempt waits for one. */
const CONCURRENCY = 8;
/** At most one failure in 300, a third of what a timeout at the p99 cuts. */
const MAX_FAILED = 1;

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'timeout,breaker',
      TIMEOUT_MS: String(TIMEOUT_MS),
      BREAKER_ERROR_THRESHOLD_PERCENTAGE: '10',
      BREAKER_VOLUME_THRESHOLD: '10',
      BREAKER_ROLLING_COUNT_TIMEOUT_MS: '60000',
    },
  });
  await supplierAdmin(lab.supplier.url).chaos({
    target: 'prices',
    latency: { p50Ms: 60, p99Ms: 400 },
    seed: 2024,
  });
});
afterAll(async () => {
  await lab.stop();
});

/** Sends `QUOTES` quotes, `CONCURRENCY` at a time, and returns each one's status. */
async function sendQuotes(): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const caller = async () => {
    while (next < QUOTES) {
      const i = next;
      next += 1;
      const res = await fetch(`${lab.gateway.url}/quotes/sku-${i}`);
      await res.body?.cancel();
      statuses.push(res.status);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  return statuses;
}

describe('exercise 01: a timeout above the supplier p99', () => {
  it('When the timeout is chosen, then it still bounds a hung call (at most 2 s)', () => {
    expect(TIMEOUT_MS, 'TIMEOUT_MS must be a positive number of milliseconds').toBeGreaterThan(0);
    expect(
      TIMEOUT_MS,
      'TIMEOUT_MS above 2 s: a hung call would hold its pooled connection that long',
    ).toBeLessThanOrEqual(2000);
  });

  it(`When ${QUOTES} quotes meet a healthy supplier with a slow tail, then the breaker never trips and at most ${MAX_FAILED} call fails`, async () => {
    const statuses = await sendQuotes();
    const breakers = (await (await fetch(`${lab.gateway.url}/breakers`)).json()) as {
      prices: { state: string; opens: number };
    };
    const failed = statuses.filter((s) => s !== 200);
    const byStatus = Object.entries(
      failed.reduce<Record<number, number>>((n, s) => ({ ...n, [s]: (n[s] ?? 0) + 1 }), {}),
    )
      .map(([status, n]) => `${n} × ${status}`)
      .join(', ');
    expect(statuses).toHaveLength(QUOTES);
    expect(
      breakers.prices.opens,
      `the breaker opened ${breakers.prices.opens} time(s) on a healthy supplier: a false trip ` +
        `(${failed.length} of ${QUOTES} quotes failed: ${byStatus}); TIMEOUT_MS = ${TIMEOUT_MS} ` +
        `cuts the supplier's ordinary slow answers`,
    ).toBe(0);
    expect(
      failed.length,
      `${failed.length} of ${QUOTES} quotes failed (${byStatus}) although the supplier is healthy: ` +
        `TIMEOUT_MS = ${TIMEOUT_MS} cuts its slow tail. A timeout at or below the p99 (400 ms) ` +
        `fails about 1 call in 100; set it above the p99, with headroom`,
    ).toBeLessThanOrEqual(MAX_FAILED);
  });
});
