import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../../src/services.ts';
import { supplierAdmin } from '../../src/client.ts';

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'retry',
      LAB_CHAOS: '1',
      LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'retry-policy.ts'),
      RETRY_MAX_ATTEMPTS: '3',
      RETRY_BASE_DELAY_MS: '5',
      RETRY_BUDGET_BURST: '1000',
    },
  });
});
afterAll(async () => {
  await lab.stop();
});

const attemptsFor = async (requestId: string) =>
  (await supplierAdmin(lab.supplier.url).calls()).filter((c) => c.requestId === requestId).length;

describe('exercise 03: retry only what a retry can fix', () => {
  it('When the SKU does not exist (404), then the gateway asks once', async () => {
    const res = await fetch(`${lab.gateway.url}/quotes/unknown-9`, {
      headers: { 'x-request-id': 'ex3-404' },
    });
    expect(res.status).toBe(404);
    expect(await attemptsFor('ex3-404'), 'a 404 was retried').toBe(1);
  });

  it('When the connection drops, then the gateway tries again', async () => {
    await supplierAdmin(lab.supplier.url).chaos({ target: 'stock', faults: { reset: 1 } });
    const res = await fetch(`${lab.gateway.url}/availability/sku-1`, {
      headers: { 'x-request-id': 'ex3-reset' },
    });
    expect(res.status).toBe(502);
    expect(await attemptsFor('ex3-reset'), 'a dropped connection was not retried').toBe(3);
  });

  it('When the supplier fails with a 500, then the gateway tries again', async () => {
    await supplierAdmin(lab.supplier.url).chaos({ target: 'prices', faults: { error: 1 } });
    const res = await fetch(`${lab.gateway.url}/quotes/sku-1`, {
      headers: { 'x-request-id': 'ex3-500' },
    });
    await res.arrayBuffer();
    expect(await attemptsFor('ex3-500'), 'a 500 was not retried').toBe(3);
  });
});
