import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { databaseUrlFor } from '@lab/shared/pg';
import { waitFor } from '@lab/shared/testkit';
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

/**
 * Two calls for one reservation or charge id under different keys, the second arriving while the
 * first's transaction is still open: the compensation of a step whose call timed out, sent while
 * that call still runs. The first is a stored use case run in a transaction this test holds
 * open; the second goes through the participant's API and waits on the first's row until the
 * test commits it.
 */
async function race(
  database: string,
  first: { call: string; args: unknown[] },
  second: { url: string; body?: unknown },
) {
  const held = new pg.Client({
    connectionString: databaseUrlFor(process.env.DATABASE_URL!, database),
  });
  await held.connect();
  try {
    await held.query('BEGIN');
    const placeholders = first.args.map((_, i) => `$${i + 3}`).join(', ');
    await held.query(`SELECT * FROM ${first.call}($1, $2, ${placeholders})`, [
      `first-${randomUUID()}`,
      'first',
      ...first.args,
    ]);
    const answering = fetch(second.url, {
      method: 'POST',
      headers: {
        'idempotency-key': `second-${randomUUID()}`,
        ...(second.body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(second.body !== undefined && { body: JSON.stringify(second.body) }),
    });
    await waitFor('the second call to wait on the first one’s row', async () => {
      const { rows } = await held.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0]!.n > 0;
    });
    await held.query('COMMIT');
    const res = await answering;
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } finally {
    await held.end();
  }
}

test('When a cancel arrives while its hold is still being written, then it releases that hold instead of failing on the id', async () => {
  const hotel = await createInventory(lab.urls.hotels, 1);
  const id = `r-race-${randomUUID()}`;

  const cancel = await race(
    lab.databases.hotels,
    { call: 'hold_units', args: [id, hotel, 1, 60_000] },
    { url: `${lab.urls.hotels}/reservations/${id}/cancel` },
  );

  expect(cancel).toMatchObject({ status: 200, body: { status: 'CANCELLED', tombstone: false } });
  expect(await inventory(lab.urls.hotels, hotel)).toMatchObject({ held: 0, available: 1 });
});

test('When a hold arrives while a cancel of the same id is writing its tombstone, then it is refused as cancelled and holds nothing', async () => {
  const hotel = await createInventory(lab.urls.hotels, 1);
  const id = `r-race-${randomUUID()}`;

  const hold = await race(
    lab.databases.hotels,
    { call: 'release_units', args: [id] },
    { url: `${lab.urls.hotels}/reservations`, body: { reservationId: id, inventoryId: hotel } },
  );

  expect(hold).toMatchObject({ status: 409, body: { code: 'reservation-cancelled' } });
  expect(await inventory(lab.urls.hotels, hotel)).toMatchObject({ held: 0, available: 1 });
});

test('When a refund arrives while its charge is still being written, then it refunds that charge, and a charge behind a refund is refused as voided', async () => {
  const card = `card-tomb-${randomUUID()}`;
  await post(`${lab.urls.payments}/cards`, { cardToken: card, limitCents: 10_000 });
  const refunded = `c-race-${randomUUID()}`;
  const voided = `c-race-${randomUUID()}`;

  const refund = await race(
    lab.databases.payments,
    { call: 'charge_card', args: [refunded, card, 1000] },
    { url: `${lab.urls.payments}/charges/${refunded}/refund` },
  );
  const charge = await race(
    lab.databases.payments,
    { call: 'refund_charge', args: [voided] },
    {
      url: `${lab.urls.payments}/charges`,
      body: { chargeId: voided, cardToken: card, amountCents: 1000 },
    },
  );

  expect(refund).toMatchObject({ status: 200, body: { status: 'REFUNDED' } });
  expect(charge).toMatchObject({ status: 409, body: { code: 'charge-voided' } });
  for (const [id, status] of [
    [refunded, 'REFUNDED'],
    [voided, 'VOIDED'],
  ])
    expect(await (await fetch(`${lab.urls.payments}/charges/${id}`)).json()).toMatchObject({
      status,
    });
});
