import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  inventory,
  tripRequest,
  waitForStatus,
  type Trip,
} from '../src/client.ts';
import {
  participants,
  startSagaLab,
  tolerantBudgets,
  uniqueDatabases,
  type SagaLab,
} from '../src/services.ts';

let lab: SagaLab;

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('reject'),
    orchestratorEnv: tolerantBudgets,
  });
});
afterEach(async () => {
  await Promise.all(participants.map((name) => clearChaos(lab.urls[name])));
});
afterAll(async () => {
  await lab.stop();
});

const timeline = (trip: Trip) => trip.timeline.map((step) => `${step.name}:${step.state}`);

describe('a business rejection compensates the earlier steps in reverse order', () => {
  test.each([
    ['flights', 'reserve-flight', ['reserve-flight:FAILED']],
    [
      'hotels',
      'reserve-hotel',
      ['reserve-flight:SUCCEEDED', 'reserve-hotel:FAILED', 'cancel-flight:SUCCEEDED'],
    ],
    [
      'cars',
      'reserve-car',
      [
        'reserve-flight:SUCCEEDED',
        'reserve-hotel:SUCCEEDED',
        'reserve-car:FAILED',
        'cancel-hotel:SUCCEEDED',
        'cancel-flight:SUCCEEDED',
      ],
    ],
    [
      'payments',
      'charge-payment',
      [
        'reserve-flight:SUCCEEDED',
        'reserve-hotel:SUCCEEDED',
        'reserve-car:SUCCEEDED',
        'charge-payment:FAILED',
        'cancel-car:SUCCEEDED',
        'cancel-hotel:SUCCEEDED',
        'cancel-flight:SUCCEEDED',
      ],
    ],
  ] as const)(
    'When %s rejects its step, then the trip is COMPENSATED in reverse order and nothing after %s ran',
    async (participant, _step, expected) => {
      // Arrange
      const stock = await createStock(lab.urls, 3);
      await chaos(lab.urls[participant], { target: 'action', faults: { reject: 1 }, next: 1 });

      // Act
      const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
      const trip = await waitForStatus(lab.urls.orchestrator, tripId);

      // Assert
      expect(trip.status).toBe('COMPENSATED');
      expect(timeline(trip)).toEqual(expected);
      for (const [url, id] of [
        [lab.urls.flights, stock.flight],
        [lab.urls.hotels, stock.hotel],
        [lab.urls.cars, stock.car],
      ] as const)
        expect(await inventory(url, id)).toMatchObject({ held: 0, confirmed: 0, available: 3 });
    },
  );
});
