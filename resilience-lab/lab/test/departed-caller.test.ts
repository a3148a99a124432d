import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../src/services.ts';
import { breakerOf, supplierAdmin, type SupplierAdmin } from '../src/client.ts';

let lab: RunningLab;
let supplier: SupplierAdmin;

const TIMEOUT_MS = 400;
const pricesBreaker = () => breakerOf(lab.gateway.url, 'prices');
/** A caller who gives up long before the gateway's own deadline, as an impatient client does. */
const impatientQuote = async () => {
  const gaveUp = await fetch(`${lab.gateway.url}/quotes/sku-1`, {
    signal: AbortSignal.timeout(TIMEOUT_MS / 8),
  }).then(
    () => false,
    (error: unknown) => (error as Error).name === 'TimeoutError',
  );
  expect(gaveUp).toBe(true);
};

beforeAll(async () => {
  // The breaker and the attempt deadline only: every attempt reaches the breaker once.
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'breaker,timeout',
      TIMEOUT_MS: String(TIMEOUT_MS),
      BREAKER_VOLUME_THRESHOLD: '4',
      BREAKER_ERROR_THRESHOLD_PERCENTAGE: '50',
      BREAKER_ROLLING_COUNT_TIMEOUT_MS: '60000',
      BREAKER_RESET_TIMEOUT_MS: '1000',
    },
  });
  supplier = supplierAdmin(lab.supplier.url);
});
afterAll(async () => {
  await lab.stop();
});

describe('callers who hang up on a hanging supplier', () => {
  it('When every caller gives up before the deadline, then the attempts still time out, the breaker opens, and a probe whose caller left does not close it', async () => {
    // Arrange: a supplier that never answers a price.
    await supplier.chaos({ target: 'prices', faults: { hang: 1 } });

    // Act: four callers, each gone after 50 ms, long before the 400 ms deadline.
    for (let i = 0; i < 4; i += 1) await impatientQuote();

    // Assert: their attempts ran to the deadline and counted as failures, so the breaker opened.
    // (Cut when the caller left, they would have counted as successes: it would stay closed.)
    await waitFor(
      'the prices breaker to open',
      async () => (await pricesBreaker()).state === 'open',
    );
    // All four were fired at once, so it opens at the timeout that takes the rate over 50%.
    expect((await pricesBreaker()).transitions.at(-1)?.reason).toMatch(
      /failure rate \d+% > 50% over 4 calls/,
    );

    // Act: the half-open probe's caller also leaves while the supplier still hangs.
    await waitFor('half-open', async () => (await pricesBreaker()).state === 'half-open');
    await impatientQuote();

    // Assert: the probe got its verdict from the supplier (a timeout), not from the caller.
    await waitFor(
      'the probe to reopen the breaker',
      async () => (await pricesBreaker()).state === 'open',
    );
    const { transitions } = await pricesBreaker();
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'open']);
    expect(transitions.at(-1)?.reason).toBe('the half-open probe failed');
    // Every attempt, the probe's too, ended at the gateway's deadline: the supplier saw each
    // connection close then, and none was counted as a caller leaving.
    expect((await supplier.counters()).prices.started).toBe(5);
    const timedOut = 'gateway_supplier_attempts_total{dependency="prices",outcome="timeout"} 5';
    await waitFor('the five attempts to be cut at their deadline', async () => {
      const metrics = await (await fetch(`${lab.gateway.url}/metrics`)).text();
      return metrics.includes(timedOut) && (await supplier.counters()).prices.abortedByClient === 5;
    });
    const metrics = await (await fetch(`${lab.gateway.url}/metrics`)).text();
    expect(metrics).not.toMatch(/outcome="caller-gone"/);
  });
});
