import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule, waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../../src/services.ts';
import { supplierAdmin } from '../../src/client.ts';

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'retry',
      LAB_CHAOS: '1',
      LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'backoff.ts'),
      RETRY_MAX_ATTEMPTS: '2',
      RETRY_BASE_DELAY_MS: '200',
      RETRY_MAX_DELAY_MS: '1000',
      RETRY_BUDGET_BURST: '1000',
    },
  });
  await supplierAdmin(lab.supplier.url).chaos({ target: 'prices', faults: { error: 1 } });
});
afterAll(async () => {
  await lab.stop();
});

describe('exercise 02: full jitter', () => {
  it('When twenty callers fail together, then their retries are spread over the backoff window, not synchronised', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => fetch(`${lab.gateway.url}/quotes/sku-${i}`)),
    );

    // The answers can reach the test before the gateway's log lines about them do. The
    // policy's own draw (`jitterMs`), not the wait: the gateway never waits less than 0 ms, so
    // only the draw shows a backoff that returns a negative number.
    const delays = await waitFor('a retry decision logged for each caller', () => {
      const logged = lab.gateway.logs
        .filter((l) => l.includes('"decision":"retry"'))
        .map((l) => (JSON.parse(l) as { jitterMs: number }).jitterMs);
      return logged.length >= 20 ? logged : undefined;
    });
    expect(delays).toHaveLength(20);
    for (const delay of delays) {
      expect(delay, 'a negative wait').toBeGreaterThanOrEqual(0);
      expect(
        delay,
        'a wait above the attempt ceiling (200 ms here): jitter picks below it',
      ).toBeLessThanOrEqual(200);
    }
    expect(
      new Set(delays).size,
      'every retry waited the same time: one synchronised wave',
    ).toBeGreaterThanOrEqual(10);
  });
});
