import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  inventory,
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

test('When the hotel reservation commits but its answer is lost, then the retry is recognised and the trip COMPLETES with one room', async () => {
  const stock = await createStock(lab.urls, 3);
  await chaos(lab.urls.hotels, { target: 'action', faults: { 'lose-response': 1 }, next: 1 });

  const trip = await waitForStatus(
    lab.urls.orchestrator,
    await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
  );

  expect(trip.status).toBe('COMPLETED');
  expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ held: 0, confirmed: 1 });
  const charge = await fetch(`${lab.urls.payments}/charges/${trip.tripId}`);
  expect(await charge.json()).toMatchObject({ status: 'CAPTURED' });
});

test('When two trips are booked, then each step of each saga has its own key and both COMPLETE', async () => {
  const stock = await createStock(lab.urls, 3);

  const trips = [];
  for (let i = 0; i < 2; i++)
    trips.push(
      await waitForStatus(
        lab.urls.orchestrator,
        await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
      ),
    );

  // A key shared by two sagas names a different request the second time: the participant
  // refuses it (idempotency-key-reused), and that trip is compensated for nothing.
  expect(trips.map((t) => [t.status, t.failureReason])).toEqual([
    ['COMPLETED', null],
    ['COMPLETED', null],
  ]);
});
