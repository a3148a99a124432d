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
  type Stock,
} from '../src/client.ts';
import { participants, startSagaLab, uniqueDatabases, type SagaLab } from '../src/services.ts';

// A hold's semantic lock lasts HOLD_TTL_MS. Here it lapses at once, and the charge (the pivot)
// takes CHARGE_MS, so another trip's hold on the same sold-out flight releases the first
// trip's hold while its card is being charged: the confirm after the pivot finds it EXPIRED.
const CHARGE_MS = 2500;
let lab: SagaLab;

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('lapsed'),
    env: { HOLD_TTL_MS: '1' },
    orchestratorEnv: { STEP_TIMEOUT_MS: '10000', RETRY_BASE_MS: '20', RETRY_MAX_MS: '200' },
  });
  await post(`${lab.urls.payments}/cards`, { cardToken: 'card-empty', limitCents: 0 });
});
afterEach(async () => {
  await Promise.all(participants.map((name) => clearChaos(lab.urls[name])));
});
afterAll(async () => {
  await lab.stop();
});

/**
 * Books a trip whose charge is slow, waits until that charge is under way, then books a
 * second trip on the same one-seat flight: its hold finds the flight sold out and releases the
 * first trip's lapsed hold to take the seat.
 */
async function secondTripTakesTheSeat(cardToken: string) {
  const first: Stock = await createStock(lab.urls, 1);
  const second: Stock = { ...(await createStock(lab.urls, 1)), flight: first.flight };
  await chaos(lab.urls.payments, {
    target: 'action',
    latency: { p50Ms: CHARGE_MS, p99Ms: CHARGE_MS },
    next: 1,
  });
  const firstTrip = await bookTrip(lab.urls.orchestrator, tripRequest(first));
  await waitFor('the first trip to be charging its card', async () =>
    (await getTrip(lab.urls.orchestrator, firstTrip)).timeline.some(
      (entry) => entry.name === 'charge-payment',
    ),
  );
  const secondTrip = await bookTrip(lab.urls.orchestrator, tripRequest(second, { cardToken }));
  const secondEnded = await waitForStatus(lab.urls.orchestrator, secondTrip);
  // The second trip must be over before the first one's charge answers, or nothing lapsed.
  expect((await getTrip(lab.urls.orchestrator, firstTrip)).status).toBe('PENDING');
  return { first, second, firstTrip, secondEnded };
}

describe('a hold that lapses before its confirmation', () => {
  test('When a lapsed hold was released and its seat sold to another trip, then the paid trip shows CONFIRMATION_STUCK, and the operator compensates it: refunded and every hold released', async () => {
    const { first, second, firstTrip, secondEnded } = await secondTripTakesTheSeat('card-ok');
    expect(secondEnded.status).toBe('COMPLETED');

    const stuck = await waitForStatus(lab.urls.orchestrator, firstTrip, ['CONFIRMATION_STUCK']);

    // Assert: refused once and not retried (a retry would replay the stored refusal)
    expect(stuck.failureReason).toBe('confirm-flight: 409 hold-expired');
    const confirm = stuck.timeline.find((entry) => entry.name === 'confirm-flight');
    expect(confirm).toMatchObject({ state: 'STUCK', attempts: 1 });
    expect(await inventory(lab.urls.flights, first.flight)).toMatchObject({
      held: 0,
      confirmed: 1,
    });
    expect(await inventory(lab.urls.hotels, first.hotel)).toMatchObject({ held: 1 });
    const listed = (await (
      await fetch(`${lab.urls.orchestrator}/trips?status=CONFIRMATION_STUCK`)
    ).json()) as { trips: { tripId: string }[] };
    expect(listed.trips.map((trip) => trip.tripId)).toEqual([firstTrip]);
    const metrics = await (await fetch(`${lab.urls.orchestrator}/metrics`)).text();
    expect(metrics).toContain('saga_sagas{status="CONFIRMATION_STUCK"} 1\n');
    expect(metrics).toContain('saga_trips_finished_total{status="CONFIRMATION_STUCK"} 1\n');
    expect((await fetch(`${lab.urls.payments}/charges/${firstTrip}`)).status).toBe(200);

    await post(`${lab.urls.orchestrator}/trips/${firstTrip}/compensate`, {});
    const again = await fetch(`${lab.urls.orchestrator}/trips/${firstTrip}/compensate`, {
      method: 'POST',
    });
    const compensated = await waitForStatus(lab.urls.orchestrator, firstTrip);

    expect(compensated.status).toBe('COMPENSATED');
    expect(compensated.failureReason).toBe(
      'confirm-flight: 409 hold-expired (compensated by an operator)',
    );
    const undone = compensated.timeline
      .filter((entry) => entry.kind === 'compensation')
      .map((entry) => entry.name);
    expect(undone).toEqual(['refund-payment', 'cancel-car', 'cancel-hotel', 'cancel-flight']);
    // The first call already turned it back: a second is refused, not run twice.
    expect(again.status).toBe(409);
    const charge = (await (await fetch(`${lab.urls.payments}/charges/${firstTrip}`)).json()) as {
      status: string;
    };
    expect(charge.status).toBe('REFUNDED');
    for (const [url, id] of [
      [lab.urls.hotels, first.hotel],
      [lab.urls.cars, first.car],
    ] as const)
      expect(await inventory(url, id)).toMatchObject({ held: 0, confirmed: 0 });
    // The seat stays with the trip that bought it.
    expect(await inventory(lab.urls.flights, second.flight)).toMatchObject({
      held: 0,
      confirmed: 1,
    });
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });

  test('When a lapsed hold was released but its seat is free again, then the confirmation sells it and the trip COMPLETES', async () => {
    // The second trip's card is declined: it takes the seat, then its compensation frees it.
    const { first, secondEnded, firstTrip } = await secondTripTakesTheSeat('card-empty');
    expect(secondEnded.status).toBe('COMPENSATED');

    const completed = await waitForStatus(lab.urls.orchestrator, firstTrip);

    expect(completed.status).toBe('COMPLETED');
    expect(await inventory(lab.urls.flights, first.flight)).toMatchObject({
      held: 0,
      confirmed: 1,
    });
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });

  test('When an operator asks to compensate a trip that is not stuck after the pivot, then it is 409 and nothing changes', async () => {
    const stock = await createStock(lab.urls, 1);
    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    const done = await waitForStatus(lab.urls.orchestrator, tripId);

    const res = await fetch(`${lab.urls.orchestrator}/trips/${tripId}/compensate`, {
      method: 'POST',
    });

    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe('trip-not-stuck');
    expect((await getTrip(lab.urls.orchestrator, tripId)).status).toBe(done.status);
    const unknown = await fetch(
      `${lab.urls.orchestrator}/trips/00000000-0000-4000-8000-000000000000/compensate`,
      { method: 'POST' },
    );
    expect(unknown.status).toBe(404);
  });
});
