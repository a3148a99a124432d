import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../src/services.ts';
import { breakerOf, supplierAdmin, type SupplierAdmin } from '../src/client.ts';

let lab: RunningLab;
let supplier: SupplierAdmin;

const pricesBreaker = () => breakerOf(lab.gateway.url, 'prices');
const quote = (sku = 'sku-1') => fetch(`${lab.gateway.url}/quotes/${sku}`);
const pricesCalls = async () => (await supplier.counters()).prices.started;

beforeAll(async () => {
  // Only the breaker, so every failure reaches it once: no retries, no fallback hiding it.
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'breaker',
      BREAKER_VOLUME_THRESHOLD: '10',
      BREAKER_ERROR_THRESHOLD_PERCENTAGE: '50',
      BREAKER_ROLLING_COUNT_TIMEOUT_MS: '60000',
      BREAKER_RESET_TIMEOUT_MS: '1500',
    },
  });
  supplier = supplierAdmin(lab.supplier.url);
});
afterAll(async () => {
  await lab.stop();
});

describe('circuit breaker on the prices route', () => {
  it('When failures pile up, then it opens only once both the volume threshold and the error rate are reached, fails fast while open, and probes after the reset timeout', async () => {
    // Arrange: four good calls, then a supplier that fails every call.
    for (let i = 0; i < 4; i += 1) expect((await quote()).status).toBe(200);
    await supplier.chaos({ target: 'prices', faults: { error: 1 } });

    // Act + assert: 5 failures of 9 calls is 55%, over the rate but under the volume of 10.
    for (let i = 0; i < 5; i += 1) expect((await quote()).status).toBe(502);
    expect((await pricesBreaker()).state).toBe('closed');
    // The 10th call: 6 of 10 failed (60% > 50%) with the volume reached.
    expect((await quote()).status).toBe(502);
    const opened = await pricesBreaker();
    expect(opened.state).toBe('open');
    expect(opened.transitions.at(-1)?.reason).toMatch(/failure rate 60% > 50% over 10 calls/);

    // While open: refused at once, the supplier never sees the calls.
    const before = await pricesCalls();
    for (let i = 0; i < 5; i += 1) {
      const res = await quote();
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code).toBe('breaker-open');
    }
    expect(await pricesCalls()).toBe(before);

    // After the reset timeout: half-open admits one probe; it fails, so it opens again.
    await waitFor('half-open', async () => (await pricesBreaker()).state === 'half-open');
    expect((await quote()).status).toBe(502);
    expect(await pricesCalls()).toBe(before + 1);
    const reopened = await pricesBreaker();
    expect(reopened.state).toBe('open');
    expect(reopened.transitions.at(-1)?.reason).toBe('the half-open probe failed');

    // Next half-open with a healed supplier: the probe succeeds and closes the breaker.
    await supplier.clear('prices');
    await waitFor('half-open again', async () => (await pricesBreaker()).state === 'half-open');
    expect((await quote()).status).toBe(200);
    expect(await pricesCalls()).toBe(before + 2);
    const closed = await pricesBreaker();
    expect(closed.state).toBe('closed');
    expect(closed.transitions.map((t) => t.to)).toEqual([
      'open',
      'half-open',
      'open',
      'half-open',
      'closed',
    ]);
    // The log lines come through a pipe and may trail the answers: wait for both, then make
    // sure there is no third.
    const openLogs = () =>
      lab.gateway.logs.filter((l) => l.includes('"msg":"breaker prices: open"'));
    await waitFor('both open transitions logged', () => openLogs().length >= 2);
    expect(openLogs()).toHaveLength(2);

    const metrics = await (await fetch(`${lab.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_breaker_opens_total\{dependency="prices"\} 2/);
    expect(metrics).toMatch(/gateway_breaker_state\{dependency="prices"\} 0/);
  });
});
