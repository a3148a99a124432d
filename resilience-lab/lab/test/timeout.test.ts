import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../src/services.ts';
import { supplierAdmin, type SupplierAdmin } from '../src/client.ts';

let lab: RunningLab;
let supplier: SupplierAdmin;

beforeAll(async () => {
  lab = await startLab({ gatewayEnv: { PROTECTIONS: 'timeout', TIMEOUT_MS: '1500' } });
  supplier = supplierAdmin(lab.supplier.url);
});
afterAll(async () => {
  await lab.stop();
});

const get = async (path: string, requestId: string) => {
  const res = await fetch(`${lab.gateway.url}${path}`, { headers: { 'x-request-id': requestId } });
  return { requestId, status: res.status };
};

describe('timeouts with real cancellation', () => {
  it('When some price calls hang, then exactly those are aborted at the supplier and the concurrent calls around them succeed', async () => {
    // Arrange: a seeded sequence where about half the price calls hang forever.
    await supplier.chaos({ target: 'prices', faults: { hang: 0.5 }, seed: 11 });

    // Act: twelve quotes and twelve availability checks, all at once.
    const results = await Promise.all([
      ...Array.from({ length: 12 }, (_, i) => get(`/quotes/sku-${i}`, `q-${i}`)),
      ...Array.from({ length: 12 }, (_, i) => get(`/availability/sku-${i}`, `a-${i}`)),
    ]);

    // Assert: the supplier saw each hung call closed by the gateway, and nothing else closed.
    await waitFor('the supplier to have no call in flight', async () => {
      const counters = await supplier.counters();
      return counters.prices.inFlight === 0 && counters.stock.inFlight === 0;
    });
    const calls = await supplier.calls();
    const hung = calls.filter((c) => c.fault === 'hang');
    const healthy = calls.filter((c) => c.fault === 'none');
    expect(hung.length).toBeGreaterThan(0);
    expect(healthy.length).toBeGreaterThan(12);
    expect(hung.every((c) => c.outcome === 'aborted-by-client')).toBe(true);
    expect(healthy.every((c) => c.outcome === 'ok')).toBe(true);

    const statusOf = new Map(results.map((r) => [r.requestId, r.status]));
    for (const call of hung) expect(statusOf.get(call.requestId ?? '')).toBe(504);
    for (const call of healthy) expect(statusOf.get(call.requestId ?? '')).toBe(200);
    expect(results.filter((r) => r.requestId.startsWith('a-')).every((r) => r.status === 200)).toBe(
      true,
    );
    expect((await supplier.counters()).prices.abortedByClient).toBe(hung.length);
  });
});
