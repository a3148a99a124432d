import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  post,
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
  await clearChaos(lab.urls.cars);
});
afterAll(async () => {
  await lab.stop();
});

test('When the car is sold out, then the hotel is released before the flight (reverse order)', async () => {
  const stock = await createStock(lab.urls, 2);
  await chaos(lab.urls.cars, { target: 'action', faults: { reject: 1 }, next: 1 });

  const trip = await waitForStatus(
    lab.urls.orchestrator,
    await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
  );

  expect(trip.status).toBe('COMPENSATED');
  const compensations = trip.timeline
    .filter((step) => step.kind === 'compensation')
    .map((step) => step.name);
  expect(compensations).toEqual(['cancel-hotel', 'cancel-flight']);
});

test('When the card is declined at the pivot, then the car, the hotel and the flight are released, newest first', async () => {
  const stock = await createStock(lab.urls, 2);
  const card = `card-small-${stock.flight}`;
  await post(`${lab.urls.payments}/cards`, { cardToken: card, limitCents: 1000 });

  const trip = await waitForStatus(
    lab.urls.orchestrator,
    await bookTrip(lab.urls.orchestrator, tripRequest(stock, { cardToken: card })),
  );

  expect(trip.status).toBe('COMPENSATED');
  const compensations = trip.timeline
    .filter((step) => step.kind === 'compensation')
    .map((step) => step.name);
  // Three holds: a rule that only moves the newest to the front would give car, flight, hotel.
  expect(compensations).toEqual(['cancel-car', 'cancel-hotel', 'cancel-flight']);
});
