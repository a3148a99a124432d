import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../../src/services.ts';
import { supplierAdmin } from '../../src/client.ts';

const tuning = pathToFileURL(exerciseModule(import.meta.url, 'tuning.ts')).href;
const { TIMEOUT_MS } = (await import(tuning)) as { TIMEOUT_MS: number };
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

describe('exercise 01: a timeout above the supplier p99', () => {
  it('still bounds a hung call (at most 2 s)', () => {
    expect(TIMEOUT_MS).toBeGreaterThan(0);
    expect(TIMEOUT_MS).toBeLessThanOrEqual(2000);
  });

  it('When the supplier is healthy but has a slow tail, then the breaker never trips and calls succeed', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 60; i += 1)
      statuses.push((await fetch(`${lab.gateway.url}/quotes/sku-${i}`)).status);
    const breakers = (await (await fetch(`${lab.gateway.url}/breakers`)).json()) as {
      prices: { state: string; opens: number };
    };
    expect(breakers.prices.opens, 'the breaker opened on a healthy supplier: a false trip').toBe(0);
    expect(
      statuses.filter((s) => s === 200).length,
      'calls in the slow tail timed out: a timeout below the supplier p99 (400 ms) fails them',
    ).toBeGreaterThanOrEqual(59);
  });
});
