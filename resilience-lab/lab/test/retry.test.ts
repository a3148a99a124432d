import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { startLab, type RunningLab } from '../src/services.ts';
import { supplierAdmin, type SupplierAdmin, type SupplierCall } from '../src/client.ts';

interface RetryLog {
  requestId: string;
  decision: string;
  attempt: number;
  delayMs?: number;
  jitterMs?: number;
  ceilingMs?: number;
  retryAfterMs?: number;
}

const BASE_MS = 40;
const CAP_MS = 200;
let generous: RunningLab;
let budgeted: RunningLab;
let supplier: SupplierAdmin;
let budgetedSupplier: SupplierAdmin;

const retryLogsSoFar = (lab: RunningLab, requestId: string): RetryLog[] =>
  lab.gateway.logs
    .filter((l) => l.includes('"msg":"retry decision"'))
    .map((l) => JSON.parse(l) as RetryLog)
    .filter((l) => l.requestId === requestId);

/**
 * A request's retry decisions once `count` of them have come through the gateway's stdout:
 * the answer can reach the test before the log lines written while producing it do.
 */
const retryLogs = (lab: RunningLab, requestId: string, count: number): Promise<RetryLog[]> =>
  waitFor(`${count} retry decisions logged for ${requestId}`, () => {
    const logs = retryLogsSoFar(lab, requestId);
    return logs.length >= count ? logs : undefined;
  });

/** Every retry decision the gateway has made on the prices route, from its /metrics. */
async function retryDecisions(lab: RunningLab): Promise<number> {
  const metrics = await (await fetch(`${lab.gateway.url}/metrics`)).text();
  const counts = metrics.matchAll(
    /^gateway_retries_total\{[^}]*dependency="prices"[^}]*\} (\d+)$/gm,
  );
  return [...counts].reduce((sum, [, n]) => sum + Number(n), 0);
}

const quote = (lab: RunningLab, sku: string, requestId: string) =>
  fetch(`${lab.gateway.url}/quotes/${sku}`, { headers: { 'x-request-id': requestId } });

const attemptsOf = async (admin: SupplierAdmin, requestId: string): Promise<SupplierCall[]> =>
  (await admin.calls()).filter((c) => c.requestId === requestId);

beforeAll(async () => {
  const retryOnly = {
    PROTECTIONS: 'retry',
    RETRY_MAX_ATTEMPTS: '3',
    RETRY_BASE_DELAY_MS: String(BASE_MS),
    RETRY_MAX_DELAY_MS: String(CAP_MS),
    RETRY_AFTER_MAX_MS: '3000',
    REQUEST_DEADLINE_MS: '10000',
  };
  [generous, budgeted] = await Promise.all([
    startLab({ gatewayEnv: { ...retryOnly, RETRY_BUDGET_BURST: '1000' } }),
    startLab({
      gatewayEnv: {
        ...retryOnly,
        RETRY_BUDGET_BURST: '2',
        RETRY_BUDGET_RATIO: '0.1',
        RETRY_BUDGET_MIN_PER_SECOND: '0',
      },
    }),
  ]);
  supplier = supplierAdmin(generous.supplier.url);
  budgetedSupplier = supplierAdmin(budgeted.supplier.url);
});
afterAll(async () => {
  await Promise.all([generous.stop(), budgeted.stop()]);
});

describe('retries with backoff, jitter and a budget', () => {
  it('When the supplier answers 404, then the gateway does not retry it', async () => {
    const decisionsBefore = await retryDecisions(generous);
    const res = await quote(generous, 'unknown-sku', 'r-404');
    expect(res.status).toBe(404);
    expect(await attemptsOf(supplier, 'r-404')).toHaveLength(1);
    // The counter moves with each decision, before the answer leaves: unchanged, no decision
    // was made, where a missing log line could still be on its way through the pipe.
    expect(await retryDecisions(generous)).toBe(decisionsBefore);
    expect(retryLogsSoFar(generous, 'r-404')).toHaveLength(0);
  });

  it('When the supplier fails with 5xx or drops the connection, then each request is retried up to the limit with full-jitter delays inside the exponential bounds', async () => {
    // Arrange: every price call fails, alternately by 500 and by a reset connection.
    await supplier.chaos({ target: 'prices', faults: { error: 0.5, reset: 0.5 }, seed: 3 });

    // Act
    const ids = Array.from({ length: 8 }, (_, i) => `r-5xx-${i}`);
    const statuses = await Promise.all(
      ids.map(async (id) => (await quote(generous, id, id)).status),
    );

    // Assert
    expect(statuses.every((s) => s === 502)).toBe(true);
    const delays: number[] = [];
    for (const id of ids) {
      const attempts = (await attemptsOf(supplier, id)).sort((a, b) => a.startedAt - b.startedAt);
      expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      // Two retries, then the third failure gives up: three decisions.
      const retries = (await retryLogs(generous, id, 3)).filter((l) => l.decision === 'retry');
      expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
      for (const retry of retries) {
        const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** (retry.attempt - 1));
        expect(retry.ceilingMs).toBe(ceiling);
        // The policy's draw, checked before anything clamps it; with no Retry-After it is the wait.
        expect(retry.jitterMs).toBeGreaterThanOrEqual(0);
        expect(retry.jitterMs).toBeLessThanOrEqual(ceiling);
        expect(retry.delayMs).toBe(retry.jitterMs);
        const next = attempts[retry.attempt]!;
        const previous = attempts[retry.attempt - 1]!;
        // The next attempt cannot start before the previous one plus the drawn delay.
        expect(next.startedAt).toBeGreaterThanOrEqual(previous.startedAt + (retry.delayMs ?? 0));
        delays.push(retry.delayMs ?? 0);
      }
    }
    // Jitter: the sixteen delays are spread, not one synchronised value.
    expect(new Set(delays).size).toBeGreaterThan(8);
  });

  it('When the supplier sends Retry-After, then the gateway waits at least that long, and gives up when it is longer than it will wait', async () => {
    await supplier.chaos({ target: 'prices', faults: { error: 1 }, retryAfterS: 1 });
    expect((await quote(generous, 'sku-ra', 'r-ra')).status).toBe(502);
    const attempts = (await attemptsOf(supplier, 'r-ra')).sort((a, b) => a.startedAt - b.startedAt);
    expect(attempts).toHaveLength(3);
    for (let i = 1; i < attempts.length; i += 1)
      expect(attempts[i]!.startedAt - attempts[i - 1]!.startedAt).toBeGreaterThanOrEqual(1000);
    expect(
      (await retryLogs(generous, 'r-ra', 3))
        .filter((l) => l.decision === 'retry')
        .map((l) => l.delayMs),
    ).toEqual([1000, 1000]);

    await supplier.chaos({ target: 'prices', faults: { error: 1 }, retryAfterS: 30 });
    expect((await quote(generous, 'sku-ra2', 'r-ra-long')).status).toBe(502);
    expect(await attemptsOf(supplier, 'r-ra-long')).toHaveLength(1);
    expect((await retryLogs(generous, 'r-ra-long', 1)).map((l) => l.decision)).toEqual([
      'retry-after-too-long',
    ]);
  });

  it('When every call fails, then the retry budget caps the extra attempts instead of tripling the load', async () => {
    // Arrange: a budget of 2 tokens plus 0.1 per request, no time-based refill.
    await budgetedSupplier.chaos({ target: 'prices', faults: { error: 1 } });
    const requests = 30;

    // Act
    for (let i = 0; i < requests; i += 1)
      expect((await quote(budgeted, `sku-${i}`, `b-${i}`)).status).toBe(502);

    // Assert: at most 2 + 30 * 0.1 = 5 retries, where unbudgeted retries would add 60.
    const attempts = (await budgetedSupplier.counters()).prices.started;
    expect(attempts).toBeGreaterThan(requests);
    expect(attempts).toBeLessThanOrEqual(requests + 5);
    const exhausted = () =>
      budgeted.gateway.logs.filter((l) => l.includes('"decision":"budget-exhausted"')).length;
    await waitFor('the budget-exhausted decisions to be logged', () => exhausted() >= requests - 5);
    expect(exhausted()).toBeGreaterThanOrEqual(requests - 5);
  });

  it('When the retry budget is drained and the gateway sits idle, then /status shows it refilling by the per-second trickle', async () => {
    // Arrange: 3 tokens at most, none earned per request, 2 trickled in per second.
    const lab = await startLab({
      gatewayEnv: {
        PROTECTIONS: 'retry',
        RETRY_MAX_ATTEMPTS: '3',
        RETRY_BASE_DELAY_MS: '1',
        RETRY_BUDGET_BURST: '3',
        RETRY_BUDGET_RATIO: '0',
        RETRY_BUDGET_MIN_PER_SECOND: '2',
        REQUEST_DEADLINE_MS: '10000',
      },
    });
    onTestFinished(lab.stop);
    const tokens = async () =>
      ((await (await fetch(`${lab.gateway.url}/status`)).json()) as { retryBudgetTokens: number })
        .retryBudgetTokens;
    await supplierAdmin(lab.supplier.url).chaos({ target: 'prices', faults: { error: 1 } });
    await waitFor('the budget to run dry', async () => {
      await (await quote(lab, 'sku-1', `dry-${Date.now()}`)).arrayBuffer();
      return lab.gateway.logs.some((l) => l.includes('"decision":"budget-exhausted"'));
    });

    // Act: no request reaches the gateway any more; only /status is read.
    const drained = await tokens();
    const refilled = await waitFor('the idle budget to gain a token', async () => {
      const now = await tokens();
      return now >= Math.min(3, drained + 1) ? now : undefined;
    });

    // Assert
    expect(drained).toBeLessThan(3);
    expect(refilled).toBeGreaterThan(drained);
    expect(refilled).toBeLessThanOrEqual(3);
  });
});
