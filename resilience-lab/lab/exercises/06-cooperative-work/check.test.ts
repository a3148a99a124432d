import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseModule } from '@lab/shared/testkit';
import { startMonolith, type RunningMonolith } from '../../src/services.ts';

let monolith: RunningMonolith;

beforeAll(async () => {
  monolith = await startMonolith({
    gatewayEnv: {
      PROTECTIONS: 'timeout',
      TIMEOUT_MS: '300',
      LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'work.ts'),
    },
  });
});
afterAll(async () => {
  await monolith.stop();
});

/** The gateway's attempts at stock so far, by outcome (from its /metrics). */
async function stockAttempts(): Promise<Record<string, number>> {
  const text = await (await fetch(`${monolith.gateway.url}/metrics`)).text();
  const pattern =
    /^gateway_supplier_attempts_total\{dependency="stock",outcome="([\w-]+)"\} (\d+)$/gm;
  return Object.fromEntries([...text.matchAll(pattern)].map((m) => [m[1] ?? '', Number(m[2])]));
}

describe('exercise 06: a slow module the timeout can stop, in-process', () => {
  it('When the stock module needs 1.5 s for one call and the timeout is 300 ms, then the gateway answers 504 and counts a timeout, not a late success', async () => {
    const chaos = await fetch(`${monolith.gateway.url}/_chaos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'stock', latency: { p50Ms: 1500, p99Ms: 1500 }, next: 1 }),
    });
    expect(chaos.status).toBe(200);

    const res = await fetch(`${monolith.gateway.url}/availability/sku-1`);
    const problem = (await res.json()) as { code?: string };

    expect(
      { status: res.status, code: problem.code },
      'a 1.5 s computation the 300 ms timeout cannot interrupt answers late instead of 504: let it yield to the signal',
    ).toEqual({
      status: 504,
      code: 'supplier-timeout',
    });
    expect(await stockAttempts()).toEqual({ timeout: 1 });
  });
});
