import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supplierAdmin } from '../src/client.ts';
import { startLab, startMonolith, type RunningLab, type RunningMonolith } from '../src/services.ts';

// The same gateway, the same protections, the same requests: once calling the supplier over
// HTTP, once calling its catalog module in-process. What differs is what the hop adds.
const gatewayEnv = { PROTECTIONS: 'timeout,retry', TIMEOUT_MS: '300' };

let split: RunningLab;
let monolith: RunningMonolith;

beforeAll(async () => {
  [split, monolith] = await Promise.all([startLab({ gatewayEnv }), startMonolith({ gatewayEnv })]);
});
afterAll(async () => {
  // A beforeAll that failed half-way leaves one of them unset.
  const running = [split as RunningLab | undefined, monolith as RunningMonolith | undefined];
  await Promise.allSettled(running.flatMap((wiring) => (wiring ? [wiring.stop()] : [])));
});

const chaosOn = (url: string, body: unknown) =>
  fetch(`${url}/_chaos`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const get = (url: string, path: string, requestId: string) =>
  fetch(`${url}${path}`, { headers: { 'x-request-id': requestId } });

/** The gateway's attempts at one dependency so far, by outcome (from its /metrics). */
async function attempts(url: string, dependency: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pattern = new RegExp(
    `^gateway_supplier_attempts_total\\{dependency="${dependency}",outcome="([\\w-]+)"\\} (\\d+)$`,
    'gm',
  );
  return Object.fromEntries([...text.matchAll(pattern)].map((m) => [m[1] ?? '', Number(m[2])]));
}

describe('what the network hop adds', () => {
  it('When asked for its status, then the gateway reports its connection pool to the supplier, and the in-process wiring names itself and has no pool', async () => {
    const status = async (url: string) =>
      (await (await fetch(`${url}/status`)).json()) as {
        service: string;
        poolConnections: number | null;
        pool: { size?: unknown } | null;
      };
    const overHttp = await status(split.gateway.url);
    const inProcess = await status(monolith.gateway.url);

    expect(overHttp).toMatchObject({ service: 'gateway', poolConnections: 10 });
    expect(typeof overHttp.pool?.size).toBe('number');
    expect(inProcess).toMatchObject({
      service: 'resilience-monolith',
      poolConnections: null,
      pool: null,
    });
  });

  it('When a response is lost on its connection, then over HTTP a retry recovers it; in-process no connection exists to lose, so the fault cannot even be set', async () => {
    const supplier = supplierAdmin(split.supplier.url);
    await supplier.chaos({ target: 'prices', faults: { reset: 1 }, next: 1 });

    const overHttp = await get(split.gateway.url, '/quotes/sku-reset', 'reset-1');
    const inProcess = await chaosOn(monolith.gateway.url, {
      target: 'prices',
      faults: { reset: 1 },
    });

    expect(overHttp.status).toBe(200);
    const attempts = (await supplier.calls(0, 'prices')).filter((c) => c.requestId === 'reset-1');
    expect(attempts.map((c) => c.fault)).toEqual(['reset', 'none']);
    expect(inProcess.status).toBe(400);
    expect(
      (await chaosOn(monolith.gateway.url, { target: 'stock', faults: { down: 1 } })).status,
    ).toBe(400);
  });

  it('When the dependency is slow, then over HTTP the timeout cuts the call and frees its socket; in-process the slow computation holds the only thread and no timeout can cut it', async () => {
    const slow = { target: 'stock', latency: { p50Ms: 900, p99Ms: 900 }, next: 1 };
    await supplierAdmin(split.supplier.url).chaos(slow as never);
    expect((await chaosOn(monolith.gateway.url, slow)).status).toBe(200);

    const overHttp = await get(split.gateway.url, '/availability/sku-slow', 'slow-1');
    const inProcess = await get(monolith.gateway.url, '/availability/sku-slow', 'slow-1');

    // Over HTTP the first attempt was aborted at 300 ms and the retry, unslowed, answered.
    expect(overHttp.status).toBe(200);
    const calls = await supplierAdmin(split.supplier.url).calls(0, 'stock');
    expect(calls.filter((c) => c.requestId === 'slow-1').map((c) => c.outcome)).toEqual([
      'aborted-by-client',
      'ok',
    ]);
    // In-process the same 900 ms ran to the end in one attempt: its timer could only fire after.
    expect(inProcess.status).toBe(200);
    expect(await attempts(split.gateway.url, 'stock')).toEqual({ ok: 1, timeout: 1 });
    expect(await attempts(monolith.gateway.url, 'stock')).toEqual({ ok: 1 });
  });

  it('When a module throws, then both wirings answer the same problem: a bug is not a network failure, it survives the move in-process', async () => {
    const bug = { target: 'prices', faults: { error: 1 }, next: 3 };
    await supplierAdmin(split.supplier.url).chaos(bug as never);
    await chaosOn(monolith.gateway.url, bug);

    const answers = await Promise.all(
      [split.gateway.url, monolith.gateway.url].map(async (url) => {
        const res = await get(url, '/quotes/sku-bug', 'bug-1');
        const { code, title } = (await res.json()) as { code: string; title: string };
        return { status: res.status, code, title };
      }),
    );

    expect(answers[0]).toEqual({ status: 502, code: 'supplier-error', title: 'Bad Gateway' });
    expect(answers[1]).toEqual(answers[0]);
  });

  it('When the dependency process dies, then over HTTP the gateway stays up, stays ready and answers a problem; in-process there is no second process: the only one is everything', async () => {
    await split.supplier.kill();
    await monolith.gateway.kill();

    const overHttp = await get(split.gateway.url, '/availability/sku-1', 'dead-1');
    // Settled into a value at once: a rejection left pending while the other answer is read
    // would surface as an unhandled rejection.
    const inProcess = get(monolith.gateway.url, '/availability/sku-1', 'dead-1').then(
      () => 'answered',
      () => 'no answer',
    );

    expect(overHttp.status).toBe(503);
    expect(overHttp.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await overHttp.json()) as { code: string }).code).toBe('supplier-unreachable');
    expect(await inProcess).toBe('no answer');
    // Readiness names the gateway's own dependencies only, never a service it calls: a caller
    // that left the load balancer's rotation whenever its supplier failed would turn one
    // outage into an outage of every caller, the cascade the breakers are there to stop.
    expect((await fetch(`${split.gateway.url}/readyz`)).status).toBe(200);
  });
});
