import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { auditSaga } from '../src/audit.ts';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  getTrip,
  inventory,
  post,
  tripRequest,
  waitForStatus,
  type Trip,
} from '../src/client.ts';
import { participants, startSagaLab, uniqueDatabases, type SagaLab } from '../src/services.ts';

let lab: SagaLab;

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('transient'),
    orchestratorEnv: {
      STEP_TIMEOUT_MS: '1500',
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '200',
      STEP_MAX_ATTEMPTS: '4',
      COMPENSATION_STUCK_AFTER: '5',
    },
  });
});
afterEach(async () => {
  await Promise.all(participants.map((name) => clearChaos(lab.urls[name])));
});
afterAll(async () => {
  await lab.stop();
});

const step = (trip: Trip, name: string) => trip.timeline.find((entry) => entry.name === name);
const names = (trip: Trip) => trip.timeline.map((entry) => entry.name);

describe('transient failures are retried, business ones are not', () => {
  test('When hotels fails twice with 500, then the step is retried and the trip COMPLETES', async () => {
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.hotels, { target: 'action', faults: { error: 1 }, next: 2 });

    const trip = await waitForStatus(
      lab.urls.orchestrator,
      await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
    );

    expect(trip.status).toBe('COMPLETED');
    // Three at least: a slow answer on a loaded machine may time out and add one.
    expect(step(trip, 'reserve-hotel')?.attempts).toBeGreaterThanOrEqual(3);
    expect(step(trip, 'reserve-hotel')?.lastError).toContain('500');
    expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ held: 0, confirmed: 1 });
  });

  test('When flights hangs, then the per-step timeout aborts the call and the retry COMPLETES the trip', async () => {
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.flights, { target: 'action', faults: { hang: 1 }, next: 1 });

    const trip = await waitForStatus(
      lab.urls.orchestrator,
      await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
    );

    expect(trip.status).toBe('COMPLETED');
    expect(step(trip, 'reserve-flight')?.attempts).toBeGreaterThanOrEqual(2);
    expect(step(trip, 'reserve-flight')?.lastError).toContain('timeout');
  });

  test('When cars keeps failing past the retry limit, then the trip is COMPENSATED, the ambiguous car hold included', async () => {
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.cars, { target: 'action', faults: { error: 1 } });

    const trip = await waitForStatus(
      lab.urls.orchestrator,
      await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
    );

    expect(trip.status).toBe('COMPENSATED');
    expect(step(trip, 'reserve-car')).toMatchObject({ state: 'FAILED', attempts: 4 });
    expect(names(trip).slice(3)).toEqual(['cancel-car', 'cancel-hotel', 'cancel-flight']);
    expect(await inventory(lab.urls.cars, stock.car)).toMatchObject({ held: 0, available: 2 });
  });
});

describe('after the pivot the saga only moves forward', () => {
  test('When a confirmation keeps failing past its step deadline, then it is still called, and once the participant recovers the trip COMPLETES', async () => {
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.hotels, { target: 'confirmation', faults: { error: 1 } });

    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    // The step's deadline (STEP_DEADLINE_MS, 15 s here) passes while every call fails.
    await waitFor(
      'confirm-hotel to fail past its deadline',
      async () => {
        const confirm = step(await getTrip(lab.urls.orchestrator, tripId), 'confirm-hotel');
        return confirm?.deadlineAt != null && Date.parse(confirm.deadlineAt) < Date.now() - 1000;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await clearChaos(lab.urls.hotels);
    const trip = await waitForStatus(lab.urls.orchestrator, tripId);

    expect(trip.status).toBe('COMPLETED');
    expect(step(trip, 'confirm-hotel')?.state).toBe('SUCCEEDED');
    expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ held: 0, confirmed: 1 });
  });
});

describe('compensations are retried until they succeed', () => {
  test('When cancel-flight fails 3 times, then it is retried and the trip ends COMPENSATED', async () => {
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.cars, { target: 'action', faults: { reject: 1 }, next: 1 });
    await chaos(lab.urls.flights, { target: 'compensation', faults: { error: 1 }, next: 3 });

    const trip = await waitForStatus(
      lab.urls.orchestrator,
      await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
    );

    expect(trip.status).toBe('COMPENSATED');
    expect(step(trip, 'cancel-flight')?.state).toBe('SUCCEEDED');
    expect(step(trip, 'cancel-flight')?.attempts).toBeGreaterThanOrEqual(4);
    expect(await inventory(lab.urls.flights, stock.flight)).toMatchObject({
      held: 0,
      available: 2,
    });
  });

  test('When a compensation keeps failing, then the trip shows COMPENSATION_STUCK, and the operator retry finishes it while a client waits for the outcome', async () => {
    // Arrange: the hotel is rejected and releasing the flight hold fails every time
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.hotels, { target: 'action', faults: { reject: 1 }, next: 1 });
    await chaos(lab.urls.flights, { target: 'compensation', faults: { error: 1 } });
    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));

    // Act 1: it gives up visibly
    const stuck = await waitForStatus(lab.urls.orchestrator, tripId, ['COMPENSATION_STUCK']);
    expect(step(stuck, 'cancel-flight')).toMatchObject({ state: 'STUCK', attempts: 5 });
    expect(step(stuck, 'cancel-flight')?.lastError).toContain('500');
    expect(await inventory(lab.urls.flights, stock.flight)).toMatchObject({ held: 1 });

    // Act 2: the cause is fixed and the operator retries
    await clearChaos(lab.urls.flights);
    await post(`${lab.urls.orchestrator}/trips/${tripId}/retry-compensation`, {});
    // The instance that took the retry runs it at once, and the client's wait follows that run.
    const waited = await fetch(`${lab.urls.orchestrator}/trips/${tripId}`, {
      headers: { prefer: 'wait=20' },
    });
    const trip = (await waited.json()) as Trip;

    // Assert
    expect(waited.headers.get('preference-applied')).toBe('wait=20');
    expect(trip.status).toBe('COMPENSATED');
    expect(await inventory(lab.urls.flights, stock.flight)).toMatchObject({ held: 0 });
    const again = await fetch(`${lab.urls.orchestrator}/trips/${tripId}/retry-compensation`, {
      method: 'POST',
    });
    expect(again.status).toBe(409);
  });
});

describe('exactly one effect per step', () => {
  test('When responses are lost after the commit, then the retries replay the stored answer and every step took effect once', async () => {
    // Arrange: a card whose limit fits exactly one charge
    const stock = await createStock(lab.urls, 3);
    await post(`${lab.urls.payments}/cards`, { cardToken: 'card-one', limitCents: 70_000 });
    await chaos(lab.urls.hotels, { target: 'action', faults: { 'lose-response': 1 }, next: 1 });
    await chaos(lab.urls.payments, { target: 'action', faults: { 'lose-response': 1 }, next: 1 });
    await chaos(lab.urls.cars, { target: 'confirmation', faults: { 'lose-response': 1 }, next: 1 });

    // Act
    const tripId = await bookTrip(
      lab.urls.orchestrator,
      tripRequest(stock, { cardToken: 'card-one', amountCents: 70_000 }),
    );
    const trip = await waitForStatus(lab.urls.orchestrator, tripId);

    // Assert
    expect(trip.status).toBe('COMPLETED');
    for (const name of ['reserve-hotel', 'charge-payment', 'confirm-car'])
      expect(step(trip, name)?.attempts).toBeGreaterThanOrEqual(2);
    expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ held: 0, confirmed: 1 });
    expect(await inventory(lab.urls.cars, stock.car)).toMatchObject({ held: 0, confirmed: 1 });
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });

  test('When the same call is duplicated concurrently, then one reservation exists and both callers get the same answer', async () => {
    const stock = await createStock(lab.urls, 5);
    const call = () =>
      fetch(`${lab.urls.hotels}/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'dup-1:reserve-hotel' },
        body: JSON.stringify({ reservationId: 'dup-1', inventoryId: stock.hotel }),
      });

    const answers = await Promise.all([call(), call(), call()]);

    expect(answers.map((res) => res.status)).toEqual([201, 201, 201]);
    const [first, ...replays] = await Promise.all(answers.map((res) => res.json()));
    for (const replay of replays) expect(replay).toEqual(first);
    expect(answers.filter((res) => res.headers.get('idempotent-replayed')).length).toBe(2);
    expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ held: 1 });
  });

  test('When a cancel arrives before its reservation, then a tombstone refuses the late reservation', async () => {
    const stock = await createStock(lab.urls, 5);

    const cancel = await post<{ tombstone: boolean }>(
      `${lab.urls.cars}/reservations/late-1/cancel`,
      {},
      { 'idempotency-key': 'late-1:cancel-car' },
    );
    const late = await fetch(`${lab.urls.cars}/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'late-1:reserve-car' },
      body: JSON.stringify({ reservationId: 'late-1', inventoryId: stock.car }),
    });

    expect(cancel.tombstone).toBe(true);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { code: string }).code).toBe('reservation-cancelled');
    expect(await inventory(lab.urls.cars, stock.car)).toMatchObject({ held: 0, available: 5 });
  });
});

describe('one failure domain per service', () => {
  /** Polls the trip until `step` has been attempted more than `times` times. */
  const attemptedMoreThan = (tripId: string, name: string, times: number) =>
    waitFor(`${name} attempted more than ${times} times`, async () => {
      const trip = await getTrip(lab.urls.orchestrator, tripId);
      return (step(trip, name)?.attempts ?? 0) > times ? trip : undefined;
    });

  test('When the hotels process is down for more attempts than the step allows, then the orchestrator and the other participants keep answering, the refused calls are not counted, and the trip COMPLETES once hotels is back', async () => {
    // Arrange
    const stock = await createStock(lab.urls, 2);
    await lab.services.hotels?.kill();

    // Act: book while hotels is gone; a refused connection is retried without being counted.
    // Hotels comes back whatever happens here, so a failed wait does not fail the next tests.
    let tripId: string;
    let waiting: Trip;
    let ready: number[];
    try {
      tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
      waiting = await attemptedMoreThan(tripId, 'reserve-hotel', 6);
      ready = await Promise.all(
        (['orchestrator', 'flights', 'cars', 'payments'] as const).map(
          async (name) => (await fetch(`${lab.urls[name]}/readyz`)).status,
        ),
      );
    } finally {
      await lab.restartParticipant('hotels');
    }
    const trip = await waitForStatus(lab.urls.orchestrator, tripId);

    // Assert: more refusals than STEP_MAX_ATTEMPTS (4), and still no compensation
    expect(waiting.status).toBe('PENDING');
    expect(step(waiting, 'reserve-hotel')?.lastError).toContain('ECONNREFUSED');
    expect(ready).toEqual([200, 200, 200, 200]);
    expect(trip.status).toBe('COMPLETED');
    expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ held: 0, confirmed: 1 });
  });

  test('When the hotels process stays down past the step deadline, then reserve-hotel fails on refusals alone, the trip is COMPENSATED, and hotels, never reached, is asked to undo nothing', async () => {
    // Arrange
    const stock = await createStock(lab.urls, 2);
    await lab.services.hotels?.kill();

    // Act: every call to hotels is refused until the step's deadline (15 s here) passes
    let trip: Trip;
    try {
      trip = await waitForStatus(
        lab.urls.orchestrator,
        await bookTrip(lab.urls.orchestrator, tripRequest(stock)),
        undefined,
        60_000,
      );
    } finally {
      await lab.restartParticipant('hotels');
    }

    // Assert: a refused call never reached hotels, so nothing there is ambiguous or undone
    expect(trip.status).toBe('COMPENSATED');
    expect(step(trip, 'reserve-hotel')?.state).toBe('FAILED');
    // The deadline ended the step; it may pass before an attempt, during one that is refused,
    // or during the last one, whose timeout is only what was left of the deadline: on a loaded
    // machine that can run out before the refusal arrives. Never an answer from hotels.
    expect(trip.failureReason).toMatch(
      /^reserve-hotel: step deadline exceeded( \(last attempt: hotels: (connect ECONNREFUSED .+|timeout)\))?$/,
    );
    expect(names(trip)).toContain('cancel-flight');
    expect(names(trip)).not.toContain('cancel-hotel');
    expect(await inventory(lab.urls.flights, stock.flight)).toMatchObject({
      held: 0,
      available: 2,
    });
    expect(await inventory(lab.urls.hotels, stock.hotel)).toMatchObject({ held: 0, available: 2 });
  });

  test('When flights is down while its hold must be undone, then cancel-flight waits for it without counting, and the trip ends COMPENSATED once flights is back, never STUCK', async () => {
    // Arrange: hotels says no after 1 s (under the step timeout), time enough to take flights
    // down once it holds a seat
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.hotels, {
      target: 'action',
      faults: { reject: 1 },
      latency: { p50Ms: 1000, p99Ms: 1000 },
      next: 1,
    });
    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    await waitFor('the seat held', async () => {
      const trip = await getTrip(lab.urls.orchestrator, tripId);
      return step(trip, 'reserve-flight')?.state === 'SUCCEEDED';
    });

    // Act
    await lab.services.flights?.kill();
    // Read after the kill: if hotels had not refused yet, the undo found flights down.
    const atKill = await getTrip(lab.urls.orchestrator, tripId);
    let undoing: Trip;
    try {
      expect(step(atKill, 'reserve-hotel')?.state, 'flights died before hotels refused').not.toBe(
        'FAILED',
      );
      undoing = await attemptedMoreThan(tripId, 'cancel-flight', 7);
    } finally {
      await lab.restartParticipant('flights');
    }
    const trip = await waitForStatus(lab.urls.orchestrator, tripId);

    // Assert: more refusals than COMPENSATION_STUCK_AFTER (5), and still not STUCK
    expect(undoing.status).toBe('COMPENSATING');
    expect(trip.status).toBe('COMPENSATED');
    expect(trip.failureReason).toContain('chaos-rejected');
    // Hotels answered a plain no: nothing of it to undo.
    expect(names(trip)).not.toContain('cancel-hotel');
    expect(await inventory(lab.urls.flights, stock.flight)).toMatchObject({
      held: 0,
      confirmed: 0,
      available: 2,
    });
  });
});
