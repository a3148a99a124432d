import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '../../src/lab-processes.ts';
import { supplierAdmin } from '../../src/supplier-admin.ts';

const impl = resolve(import.meta.dirname, process.env.EXERCISE_IMPL ?? './start');
let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'retry',
      RETRY_POLICY_MODULE: `${impl}/retry-policy.ts`,
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
    await supplierAdmin(lab.supplier.url).chaos({ route: 'stock', resetRate: 1 });
    const res = await fetch(`${lab.gateway.url}/availability/sku-1`, {
      headers: { 'x-request-id': 'ex3-reset' },
    });
    expect(res.status).toBe(502);
    expect(await attemptsFor('ex3-reset')).toBe(3);
  });
});
