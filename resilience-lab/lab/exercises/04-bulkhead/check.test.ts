import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule, waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../../src/services.ts';
import { supplierAdmin, type SupplierCall } from '../../src/client.ts';

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'bulkhead',
      LAB_CHAOS: '1',
      LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'bulkhead.ts'),
      POOL_CONNECTIONS: '4',
      BULKHEAD_MAX_CONCURRENT: '2',
      BULKHEAD_MAX_QUEUE: '2',
    },
  });
});
afterAll(async () => {
  await lab.stop();
});

/** The most calls of one route the supplier was serving at the same instant. */
function peakConcurrency(calls: SupplierCall[]): number {
  const edges = calls.flatMap((c) => [
    [c.startedAt, 1],
    [c.endedAt ?? Number.MAX_SAFE_INTEGER, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let current = 0;
  let peak = 0;
  for (const [, delta] of edges) peak = Math.max(peak, (current += delta!));
  return peak;
}

describe('exercise 04: a bulkhead for prices', () => {
  it('When prices are slow and ten quotes arrive, then prices hold at most 2 connections, overflow gets 503, and /availability answers meanwhile', async () => {
    const supplier = supplierAdmin(lab.supplier.url);
    await supplier.chaos({ target: 'prices', latency: { p50Ms: 1500, p99Ms: 1600 } });
    const quotes = Array.from({ length: 10 }, (_, i) => fetch(`${lab.gateway.url}/quotes/s-${i}`));
    await waitFor(
      'price calls at the supplier',
      async () => (await supplier.counters()).prices.inFlight >= 2,
    );

    const availability = await fetch(`${lab.gateway.url}/availability/s-1`);
    const statuses = (await Promise.all(quotes)).map((r) => r.status);

    expect(availability.status).toBe(200);
    // Read from the supplier's ledger once every call is over, not from a live count: without
    // a bulkhead a second wave of price calls is in flight too by the time the stock call is
    // served, so "prices still running" would hold either way. The stock call must have got a
    // free connection while the first slow price calls still held theirs.
    const prices = await supplier.calls(0, 'prices');
    const [stockCall] = await supplier.calls(0, 'stock');
    const firstPriceEnd = Math.min(...prices.map((c) => c.endedAt ?? Number.MAX_SAFE_INTEGER));
    const stockEnd = stockCall?.endedAt ?? Number.MAX_SAFE_INTEGER;
    expect(
      firstPriceEnd - stockEnd,
      'ms by which /availability finished before the first slow price call: not above 0, so it had to wait for a price call to free its connection',
    ).toBeGreaterThan(0);
    expect(
      peakConcurrency(prices),
      'slow price calls held more connections than the bulkhead allows',
    ).toBeLessThanOrEqual(2);
    // Ten at once: two run, two wait in the queue, six are refused. Fewer refusals: callers
    // beyond the queue waited; more: the queue turned away callers it had room for.
    expect(
      statuses.filter((s) => s === 503).length,
      `refused with 503 (of ${JSON.stringify(statuses)}): 2 may run and 2 wait, so exactly 6`,
    ).toBe(6);
  });
});
