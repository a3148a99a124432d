import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  tripRequest,
  waitForStatus,
} from '../../src/client.ts';
import type { SagaLab } from '../../src/services.ts';
import { exerciseLab, policyModule } from '../exercise-lab.ts';

type Backoff = (attempt: number, retry: object, random: () => number) => number;
const retry = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  timeoutMs: 500,
  deadlineMs: 5000,
};

let lab: SagaLab;
beforeAll(async () => {
  lab = await exerciseLab(import.meta.url, {
    STEP_DEADLINE_MS: '1500',
    STEP_MAX_ATTEMPTS: '1000',
    RETRY_BASE_MS: '50',
    RETRY_MAX_MS: '400',
  });
});
// The participants may be shared with other checks: a fault left behind would meet theirs.
afterEach(async () => {
  await clearChaos(lab.urls.hotels);
});
afterAll(async () => {
  await lab.stop();
});

test('When random() is just below 1, then each wait is just under a ceiling that doubles from baseDelayMs up to maxDelayMs, and jitter spreads them', async () => {
  const { backoffMs } = (await import(policyModule(import.meta.url))) as {
    backoffMs: Backoff;
  };

  // Whole milliseconds or not, rounded or not: within 1% under each ceiling.
  const ceilings = [100, 200, 400, 800, 1000, 1000];
  const waits = ceilings.map((_, i) => backoffMs(i + 1, retry, () => 0.999999));
  expect(
    waits.map((ms, i) => ms <= (ceilings[i] ?? 0) && ms >= (ceilings[i] ?? 0) * 0.99),
    `waits ${JSON.stringify(waits)} for attempts 1-6, ceilings ${JSON.stringify(ceilings)}`,
  ).toEqual(ceilings.map(() => true));
  expect(backoffMs(4, retry, () => 0.25)).toBeLessThan(backoffMs(4, retry, () => 0.75));
});

test('When hotels is down for the whole step budget, then the orchestrator retries a handful of times, not hundreds', async () => {
  const stock = await createStock(lab.urls, 2);
  await chaos(lab.urls.hotels, { target: 'action', faults: { error: 1 } });

  const trip = await waitForStatus(
    lab.urls.orchestrator,
    await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
  );

  expect(trip.status).toBe('COMPENSATED');
  expect(trip.timeline.find((step) => step.name === 'reserve-hotel')?.attempts).toBeLessThan(30);
});
