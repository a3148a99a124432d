import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { exerciseModule } from '@lab/shared/testkit';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  getTrip,
  inventory,
  post,
  tripRequest,
} from '../../src/client.ts';
import {
  startSagaLab,
  startSagaMonolith,
  uniqueDatabases,
  uniqueMonolithDatabase,
  type Participant,
  type SagaLab,
  type SagaMonolith,
} from '../../src/services.ts';

let participants: SagaLab | undefined;
let monolith: SagaMonolith;
let paymentsUrl: string;

beforeAll(async () => {
  // The suite that proves the exercises shares one set of participants; alone, start them.
  const shared = process.env.SAGA_EXERCISE_PARTICIPANTS;
  if (shared) paymentsUrl = (JSON.parse(shared) as Record<Participant, string>).payments;
  else {
    participants = await startSagaLab({
      databases: uniqueDatabases('exercise'),
      orchestrator: false,
    });
    paymentsUrl = participants.urls.payments;
  }
  monolith = await startSagaMonolith({
    database: uniqueMonolithDatabase('exercise'),
    env: {
      LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'payment-port.ts'),
      PAYMENTS_URL: paymentsUrl,
    },
  });
});
afterEach(async () => {
  await clearChaos(paymentsUrl);
});
afterAll(async () => {
  await monolith.stop();
  await participants?.stop();
});

test('When the payments service loses the answer to a charge it committed, then the retry is recognised and the trip COMPLETES with one charge', async () => {
  // Arrange
  const stock = await createStock(monolith.urls, 3);
  await chaos(paymentsUrl, { target: 'action', faults: { 'lose-response': 1 }, next: 1 });

  // Act
  const tripId = await bookTrip(monolith.urls.orchestrator, tripRequest(stock));
  const trip = await getTrip(monolith.urls.orchestrator, tripId);

  // Assert
  expect(trip.status).toBe('COMPLETED');
  expect(await (await fetch(`${paymentsUrl}/charges/${tripId}`)).json()).toMatchObject({
    status: 'CAPTURED',
  });
  expect(await inventory(monolith.urls.hotels, stock.hotel)).toMatchObject({ confirmed: 1 });
});

test('When the payments service declines the card, then the trip is refused and nothing of it is kept', async () => {
  const stock = await createStock(monolith.urls, 3);
  const card = `card-low-${stock.car}`;
  await post(`${paymentsUrl}/cards`, { cardToken: card, limitCents: 100 });

  const tripId = await bookTrip(
    monolith.urls.orchestrator,
    tripRequest(stock, { cardToken: card, amountCents: 50_000 }),
  );
  const trip = await getTrip(monolith.urls.orchestrator, tripId);

  expect(trip.status).toBe('COMPENSATED');
  expect(trip.failureReason).toContain('card-declined');
  expect(await inventory(monolith.urls.hotels, stock.hotel)).toMatchObject({ available: 3 });
});
