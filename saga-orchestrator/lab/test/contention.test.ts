import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { databaseUrlFor } from '@lab/shared/pg';
import { auditSaga } from '../src/audit.ts';
import {
  bookTrip,
  createInventory,
  inventory,
  post,
  tripRequest,
  waitForStatus,
} from '../src/client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/services.ts';

let lab: SagaLab;
beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('rooms'),
    orchestratorEnv: tolerantBudgets,
  });
});
afterAll(async () => {
  await lab.stop();
});

/** A client that retries a 503 with the same Idempotency-Key: at most one trip per key. */
async function bookWithRetry(body: unknown, key: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bookTrip(lab.urls.orchestrator, body, { 'idempotency-key': key });
    } catch (error) {
      if (attempt >= 5 || !(error as Error).message.includes('got 503')) throw error;
    }
  }
}

test('When 200 trips compete for 50 hotel rooms, then exactly 50 complete, 150 are compensated and everything balances', async () => {
  // Arrange
  const stock = {
    flight: await createInventory(lab.urls.flights, 200),
    hotel: await createInventory(lab.urls.hotels, 50),
    car: await createInventory(lab.urls.cars, 200),
  };

  // Act: 200 bookings, 20 in flight at a time from the client's side
  const tripIds: string[] = [];
  for (let i = 0; i < 200; i += 20)
    tripIds.push(
      ...(await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          bookWithRetry(
            tripRequest(stock, { customerId: `c${i + j}`, amountCents: 1000 }),
            `c${i + j}`,
          ),
        ),
      )),
    );
  const trips = [];
  for (const tripId of tripIds)
    trips.push(await waitForStatus(lab.urls.orchestrator, tripId, undefined, 90_000));

  // Assert
  const completed = trips.filter((trip) => trip.status === 'COMPLETED');
  const compensated = trips.filter((trip) => trip.status === 'COMPENSATED');
  expect(completed.length).toBe(50);
  expect(compensated.length).toBe(150);
  expect(compensated.every((trip) => trip.failureReason?.includes('sold-out'))).toBe(true);
  expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({
    held: 0,
    confirmed: 50,
    available: 0,
  });
  expect(await inventory(lab.urls.flights, stock.flight)).toMatchObject({ held: 0, confirmed: 50 });
  expect(await inventory(lab.urls.cars, stock.car)).toMatchObject({ held: 0, confirmed: 50 });
  const payments = new pg.Client({
    connectionString: databaseUrlFor(process.env.DATABASE_URL!, lab.databases.payments),
  });
  await payments.connect();
  const { rows } = await payments.query<{ n: number; total: number }>(
    `SELECT count(*)::int AS n, coalesce(sum(amount_cents), 0)::int AS total FROM charges WHERE status = 'CAPTURED'`,
  );
  await payments.end();
  expect(rows[0]).toEqual({ n: 50, total: 50 * 1000 });
  expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
});

test('When 30 charges race for what is left on one card, then exactly one is captured and the rest are declined, round after round', async () => {
  // The race needs charges to queue on the card's lock at the same instant: a round does not
  // always line them up, eight nearly always do.
  for (let round = 0; round < 8; round++) {
    const card = `card-race-${Date.now()}-${round}`;
    await post(`${lab.urls.payments}/cards`, { cardToken: card, limitCents: 50_000 });

    const answers = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const res = await fetch(`${lab.urls.payments}/charges`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `${card}-${i}` },
          body: JSON.stringify({ chargeId: `${card}-${i}`, cardToken: card, amountCents: 50_000 }),
        });
        return { status: res.status, body: (await res.json()) as { code?: string } };
      }),
    );

    expect(
      answers.filter((a) => a.status === 201),
      `round ${round}`,
    ).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409).map((a) => a.body.code)).toEqual(
      Array.from({ length: 29 }, () => 'card-declined'),
    );
  }

  // The audit holds every card to its limit: one more capture, written past the lock, is a
  // violation it names.
  const card = `card-race-${Date.now()}-overdrawn`;
  await post(`${lab.urls.payments}/cards`, { cardToken: card, limitCents: 1000 });
  const payments = new pg.Client({
    connectionString: databaseUrlFor(process.env.DATABASE_URL!, lab.databases.payments),
  });
  await payments.connect();
  await payments.query(
    `INSERT INTO charges (id, card_token, amount_cents, status) VALUES ($1, $2, 1001, 'CAPTURED')`,
    [card, card],
  );
  await payments.end();
  expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toContain(
    `payments: card ${card} captured 1001, over its limit of 1000`,
  );
});
