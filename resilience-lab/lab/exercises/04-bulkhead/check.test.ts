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
      // Long enough that only the bulkhead, never the request deadline, decides who waits.
      REQUEST_DEADLINE_MS: '10000',
    },
  });
});
afterAll(async () => {
  await lab.stop();
});

/** The prices bulkhead as the gateway reports it: calls running and callers queued. */
async function pricesBulkhead(): Promise<{ active: number; queued: number }> {
  const status = (await (await fetch(`${lab.gateway.url}/status`)).json()) as {
    dependencies: { prices: { bulkhead: { active: number; queued: number } } };
  };
  return status.dependencies.prices.bulkhead;
}

/** True once `probe` holds, false if it still does not by waitFor's deadline. */
const eventually = (description: string, probe: () => Promise<boolean>) =>
  waitFor(description, probe).then(
    () => true,
    () => false,
  );

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

  it('When a queued caller hangs up, then it leaves the queue and its place goes to the next caller instead of a 503', async () => {
    const gw = lab.gateway.url;
    await supplierAdmin(lab.supplier.url).chaos({
      target: 'prices',
      latency: { p50Ms: 1500, p99Ms: 1600 },
    });
    const running = [fetch(`${gw}/quotes/r-1`), fetch(`${gw}/quotes/r-2`)];
    await waitFor('both slots taken', async () => (await pricesBulkhead()).active === 2);
    const impatient = new AbortController();
    const gaveUp = fetch(`${gw}/quotes/r-3`, {
      signal: impatient.signal,
      headers: { 'x-request-id': 'ex4-gone' },
    }).catch((error: unknown) => (error as Error).name);
    const patient = fetch(`${gw}/quotes/r-4`);
    expect(
      await eventually('two callers queued', async () => (await pricesBulkhead()).queued === 2),
      'with both slots taken, the next two callers did not wait in the queue',
    ).toBe(true);

    impatient.abort();

    expect(await gaveUp).toBe('AbortError');
    expect(
      await eventually(
        'the caller who hung up to leave the queue',
        async () => (await pricesBulkhead()).queued === 1,
      ),
      'the caller who hung up kept its place in the queue',
    ).toBe(true);
    // Its place is free again: a new caller waits in it rather than being refused.
    const late = await fetch(`${gw}/quotes/r-5`);
    expect(late.status, 'a caller was refused while the queue had a free place').toBe(200);
    const others = await Promise.all([...running, patient]);
    expect(others.map((r) => r.status)).toEqual([200, 200, 200]);
    // A waiter left behind would be granted the next free slot, and the gateway would send a
    // call nobody waits for: the supplier's ledger shows whether that happened.
    const sentForNobody = (await supplierAdmin(lab.supplier.url).calls(0, 'prices')).filter(
      (c) => c.requestId === 'ex4-gone',
    );
    expect(
      sentForNobody,
      'the caller who hung up kept its place: a slot went to it and its call reached the supplier',
    ).toEqual([]);
  });
});
