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
import { exerciseLab } from '../exercise-lab.ts';

let lab: SagaLab;
beforeAll(async () => {
  lab = await exerciseLab(import.meta.url);
});
// The participants may be shared with other checks: a fault left behind would meet theirs.
afterEach(async () => {
  await clearChaos(lab.urls.hotels);
});
afterAll(async () => {
  await lab.stop();
});

test('When hotels answers 500 twice, then the step is retried and the trip COMPLETES', async () => {
  const stock = await createStock(lab.urls, 2);
  await chaos(lab.urls.hotels, { target: 'action', faults: { error: 1 }, next: 2 });

  const trip = await waitForStatus(
    lab.urls.orchestrator,
    await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
  );

  expect(trip.status).toBe('COMPLETED');
  expect(
    trip.timeline.find((step) => step.name === 'reserve-hotel')?.attempts,
  ).toBeGreaterThanOrEqual(3);
});

test('When hotels drops the connection without an answer, then the step is retried and the trip COMPLETES', async () => {
  const stock = await createStock(lab.urls, 2);
  // No status at all: a reset connection says nothing about what the participant did.
  await chaos(lab.urls.hotels, { target: 'action', faults: { reset: 1 }, next: 1 });

  const trip = await waitForStatus(
    lab.urls.orchestrator,
    await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
  );

  expect(trip.status).toBe('COMPLETED');
  expect(
    trip.timeline.find((step) => step.name === 'reserve-hotel')?.attempts,
  ).toBeGreaterThanOrEqual(2);
});

test('When hotels refuses the reservation (409, a business no), then the trip is compensated without a retry', async () => {
  const stock = await createStock(lab.urls, 2);
  await chaos(lab.urls.hotels, { target: 'action', faults: { reject: 1 }, next: 1 });

  const trip = await waitForStatus(
    lab.urls.orchestrator,
    await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
  );

  expect(trip.status).toBe('COMPENSATED');
  expect(trip.timeline.find((step) => step.name === 'reserve-hotel')?.attempts).toBe(1);
});
