import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceGroup, waitFor, type SpawnedService } from '@lab/shared/testkit';
import { STARTUP_TIMEOUT_MS, supplierEntry } from '../src/services.ts';
import { supplierAdmin, type ChaosBody } from '../src/client.ts';

// One group for both suppliers: if either fails to start, cleanup still stops the other.
const suppliers = serviceGroup({
  services: {
    supplier: { entry: supplierEntry, env: { LAB_CHAOS: '1' } },
    locked: { entry: supplierEntry, env: { LAB_CHAOS: '0' } },
  },
  timeoutMs: STARTUP_TIMEOUT_MS,
});
let supplier: SpawnedService;
let locked: SpawnedService;

beforeAll(async () => {
  await suppliers.startAll();
  supplier = suppliers.services.supplier!;
  locked = suppliers.services.locked!;
});
afterAll(async () => {
  await suppliers.cleanup();
});

/**
 * Runs a fixed schedule of sequential calls to the rule's target and returns the faults the
 * supplier injected.
 */
async function runSchedule(settings: ChaosBody, calls: number) {
  const admin = supplierAdmin(supplier.url);
  const since = (await admin.calls()).at(-1)?.id ?? 0;
  await admin.chaos(settings);
  const statuses: string[] = [];
  for (let i = 0; i < calls; i += 1) {
    const status = await fetch(`${supplier.url}/${settings.target}/sku-${i}`).then(
      (res) => String(res.status),
      () => 'reset',
    );
    statuses.push(status);
  }
  const injected = (await admin.calls(since, settings.target)).map(
    (c) => `${c.fault}:${c.latencyMs}`,
  );
  return { statuses, injected };
}

describe('seeded chaos', () => {
  it('When the same seed and schedule are replayed, then the same fault sequence comes out, and another seed gives another', async () => {
    const settings: ChaosBody = {
      target: 'prices',
      faults: { error: 0.3, reset: 0.2 },
      latency: { p50Ms: 2, p99Ms: 20 },
      seed: 424242,
    };
    const first = await runSchedule(settings, 40);
    const replay = await runSchedule(settings, 40);
    const other = await runSchedule({ ...settings, seed: 7 }, 40);

    expect(first.injected).toHaveLength(40);
    expect(replay.injected).toEqual(first.injected);
    expect(replay.statuses).toEqual(first.statuses);
    expect(new Set(first.statuses)).toEqual(new Set(['200', '500', 'reset']));
    expect(other.injected).not.toEqual(first.injected);
    // Logged on the way, read through a pipe: the lines may trail the answers.
    const errorLogs = () => supplier.logs.filter((l) => l.includes('"fault":"error"')).length;
    await waitFor('an injected error logged', () => errorLogs() > 0);
    expect(errorLogs()).toBeGreaterThan(0);
  });

  it('When the latency is drawn with p50 and p99, then the draws follow those quantiles', async () => {
    // A narrow rule on stock: its calls get no fault, a median of 1 ms and few draws past p99.
    const { injected } = await runSchedule(
      { target: 'stock', latency: { p50Ms: 1, p99Ms: 4 }, seed: 5 },
      200,
    );
    expect(injected).toHaveLength(200);
    expect(injected.filter((i) => !i.startsWith('none:'))).toEqual([]);
    const stockLatencies = injected.map((i) => Number(i.split(':')[1])).sort((a, b) => a - b);
    expect(stockLatencies[Math.floor(stockLatencies.length / 2)]).toBe(1);
    expect(stockLatencies.filter((l) => l > 4).length).toBeLessThanOrEqual(8);
    const admin = supplierAdmin(supplier.url);
    await admin.chaos({ target: 'prices', latency: { p50Ms: 3, p99Ms: 30 }, seed: 99 });
    const since = (await admin.calls()).at(-1)?.id ?? 0;
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => fetch(`${supplier.url}/prices/q-${i}`)),
    );
    const latencies = (await admin.calls(since, 'prices'))
      .map((c) => c.latencyMs)
      .sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    expect(median).toBeGreaterThanOrEqual(2);
    expect(median).toBeLessThanOrEqual(4);
    expect(latencies.filter((l) => l > 30).length).toBeLessThanOrEqual(8);
  });

  it('When the supplier answers 503, then it carries Retry-After: the one its rule sets, or 0 when the rule sets none', async () => {
    const admin = supplierAdmin(supplier.url);
    const answer = async (rule: ChaosBody) => {
      await admin.chaos(rule);
      const res = await fetch(`${supplier.url}/${rule.target}/ra-1`);
      await res.arrayBuffer();
      return `${res.status} ${res.headers.get('retry-after') ?? 'none'}`;
    };

    const down = await answer({ target: 'stock', faults: { down: 1 } });
    const error503 = await answer({ target: 'stock', faults: { error: 1 }, status: 503 });
    const downWithHint = await answer({ target: 'stock', faults: { down: 1 }, retryAfterS: 7 });
    const error500 = await answer({ target: 'stock', faults: { error: 1 } });
    await admin.clear('stock');

    expect(down).toBe('503 0');
    expect(error503).toBe('503 0');
    expect(downWithHint).toBe('503 7');
    // Not a 503: a 500 says nothing about when to come back unless the rule does.
    expect(error500).toBe('500 none');
  });

  it('When chaos settings are invalid, then they are refused with 400 problem+json', async () => {
    const bad = [
      { target: 'nope' },
      { target: 'prices', faults: { error: 1.5 } },
      { target: 'prices', faults: { error: 0.6, hang: 0.6 } },
      { target: 'prices', latency: { p50Ms: 100, p99Ms: 10 } },
      { target: 'prices', latency: { p50Ms: -1, p99Ms: 10 } },
      { target: 'prices', seed: 1.5 },
      { target: 'prices', surprise: true },
      // Faults a read-only supplier cannot suffer, and an error status that is not a 5xx.
      { target: 'prices', faults: { reject: 1 } },
      { target: 'prices', faults: { 'lose-response': 1 } },
      { target: 'prices', status: 404 },
    ];
    for (const body of bad) {
      const res = await fetch(`${supplier.url}/_chaos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
  });

  it('When LAB_CHAOS is off, then the chaos controls do not exist', async () => {
    const res = await fetch(`${locked.url}/_chaos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'prices', faults: { down: 1 } }),
    });
    expect(res.status).toBe(404);
    expect((await fetch(`${locked.url}/prices/a-1`)).status).toBe(200);
  });
});
