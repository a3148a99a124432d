import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { auditSaga } from '../src/audit.ts';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  getTrip,
  post,
  tripRequest,
  waitForStatus,
  type Stock,
} from '../src/client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/services.ts';

const forward = [
  'reserve-flight',
  'reserve-hotel',
  'reserve-car',
  'charge-payment',
  'confirm-flight',
  'confirm-hotel',
  'confirm-car',
];
const compensations = ['cancel-car', 'cancel-hotel', 'cancel-flight'];
const points = ['before-call', 'after-call', 'after-log'];

let lab: SagaLab;
let stock: Stock;

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('crash'),
    orchestratorEnv: {
      ...tolerantBudgets,
      STEP_TIMEOUT_MS: '1000',
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '200',
      LEASE_TTL_MS: '2000',
      // Recovery here waits for the whole crash loop; deadlines are tested on their own below.
      SAGA_DEADLINE_MS: '600000',
      STEP_DEADLINE_MS: '600000',
    },
  });
  stock = await createStock(lab.urls, 500);
  // A card with no room: its trips are declined at the pivot and exercise every compensation.
  await post(`${lab.urls.payments}/cards`, { cardToken: 'card-empty', limitCents: 0 });
});
afterAll(async () => {
  await lab.stop();
});

describe('crash recovery from the saga log', () => {
  test(
    'When the orchestrator is SIGKILLed at every crash point, then after restart every trip is terminal and verify passes',
    { timeout: 900_000 },
    async () => {
      // Arrange: a fresh orchestrator per crash point, each told to kill itself there
      const booked: string[] = [];
      const declined: string[] = [];
      await lab.services.orchestrator?.stop();
      // before-log of a step is the same instant as after-call of the step before it (one
      // write records the one and starts the other), so each step adds three points. The
      // first step adds its before-log too, and so does the first compensation: it starts
      // after the write that turns the saga to COMPENSATING, in a write of its own.
      const crashAt = [
        { point: 'before-log:reserve-flight', declined: false },
        { point: `before-log:${compensations[0]}`, declined: true },
        ...forward.flatMap((step) =>
          points.map((point) => ({ point: `${point}:${step}`, declined: false })),
        ),
        ...compensations.flatMap((step) =>
          points.map((point) => ({ point: `${point}:${step}`, declined: true })),
        ),
      ];

      // Act: one orchestrator per crash point, several side by side (each runs only the trips it
      // accepted): it books one trip (declined at the pivot for the compensation points), then SIGKILLs
      // itself at its point. It may die before it answers, so the client books with an
      // Idempotency-Key and asks again later: the same key finds the same trip, or creates it.
      const crashOnce = async ({
        point,
        declined: toDecline,
      }: {
        point: string;
        declined: boolean;
      }) => {
        const orchestrator = await lab.startOrchestrator({
          LAB_CRASH_AT: point,
          SAGA_WORKER: 'own',
          ORCHESTRATOR_ID: `crash-${point}`,
        });
        (toDecline ? declined : booked).push(point);
        const body = tripRequest(stock, toDecline ? { cardToken: 'card-empty' } : {});
        await bookTrip(orchestrator.url, body, { 'idempotency-key': point }).catch(
          () => 'crashed first',
        );
        // Killed by a signal (exit code null): only the crash switch sends one here.
        await waitFor(
          `the orchestrator to SIGKILL itself at ${point}`,
          () => !orchestrator.alive(),
          {
            timeoutMs: 60_000,
          },
        );
        expect(await orchestrator.exited).toBeNull();
      };
      for (let i = 0; i < crashAt.length; i += 8)
        await Promise.all(crashAt.slice(i, i + 8).map(crashOnce));
      const survivor = await lab.startOrchestrator();

      // Assert
      for (const key of booked) {
        const tripId = await bookTrip(survivor.url, tripRequest(stock), { 'idempotency-key': key });
        const trip = await waitForStatus(survivor.url, tripId);
        expect(`${key}: ${trip.status} ${trip.failureReason ?? ''}`).toBe(`${key}: COMPLETED `);
      }
      for (const key of declined) {
        const body = tripRequest(stock, { cardToken: 'card-empty' });
        const tripId = await bookTrip(survivor.url, body, { 'idempotency-key': key });
        const trip = await waitForStatus(survivor.url, tripId);
        expect(`${key}: ${trip.status}`).toBe(`${key}: COMPENSATED`);
      }
      expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
    },
  );

  test.each(['charge-payment', 'reserve-hotel'])(
    "When the orchestrator dies just after calling %s and comes back past that step's deadline, then the step is compensated too, and verify passes",
    async (step) => {
      // Arrange: an orchestrator that dies once the participant has answered, before the log
      // knows; the step has a 1.5 s budget, so the next run finds it out of time.
      await lab.services.orchestrator?.stop();
      const settings = { STEP_DEADLINE_MS: '1500', ORCHESTRATOR_ID: `past-deadline-${step}` };
      const doomed = await lab.startOrchestrator({
        ...settings,
        LAB_CRASH_AT: `after-call:${step}`,
        SAGA_WORKER: 'own',
      });
      const key = { 'idempotency-key': `past-deadline-${step}` };
      await bookTrip(doomed.url, tripRequest(stock), key).catch(() => 'crashed first');
      await waitFor(
        `the orchestrator to SIGKILL itself after calling ${step}`,
        () => !doomed.alive(),
      );
      const deadline = Date.now() + 1500;
      await waitFor(`the ${step} step's deadline to pass`, () => Date.now() > deadline);

      // Act: the same owner again, which takes its unfinished saga back at once.
      const survivor = await lab.startOrchestrator(settings);
      const tripId = await bookTrip(survivor.url, tripRequest(stock), key);
      const trip = await waitForStatus(survivor.url, tripId);

      // Assert: what the cut-off call did at the participant is undone with the rest.
      const undo = { 'charge-payment': 'refund-payment', 'reserve-hotel': 'cancel-hotel' }[step];
      expect(`${trip.status} ${trip.failureReason ?? ''}`).toMatch(/^COMPENSATED .*deadline/);
      expect(trip.timeline.map((s) => s.name)).toContain(undo);
      expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
    },
  );

  test('When the orchestrator dies while a step is retrying, then the restarted one keeps the step deadline from the log', async () => {
    // Arrange: hotels hangs on every reservation; the step has a 3 s budget in all
    await lab.services.orchestrator?.stop();
    const first = await lab.startOrchestrator({
      STEP_DEADLINE_MS: '3000',
      STEP_MAX_ATTEMPTS: '1000',
      STEP_TIMEOUT_MS: '500',
    });
    await chaos(lab.urls.hotels, { target: 'action', faults: { hang: 1 } });
    const tripId = await bookTrip(first.url, tripRequest(stock));
    const before = await waitFor('the hotel step to be retrying', async () => {
      const trip = await getTrip(first.url, tripId);
      return trip.timeline.find((s) => s.name === 'reserve-hotel' && s.attempts >= 2);
    });

    // Act
    await first.kill();
    const second = await lab.startOrchestrator({
      STEP_DEADLINE_MS: '60000',
      STEP_MAX_ATTEMPTS: '1000',
      STEP_TIMEOUT_MS: '500',
    });
    const trip = await waitForStatus(second.url, tripId);
    await clearChaos(lab.urls.hotels);

    // Assert: the 60 s budget of the new process did not reset the 3 s one stored in the log
    const hotel = trip.timeline.find((s) => s.name === 'reserve-hotel');
    expect(trip.status).toBe('COMPENSATED');
    expect(hotel?.deadlineAt).toBe(before.deadlineAt);
    expect(new Date(hotel?.endedAt ?? 0).getTime()).toBeGreaterThanOrEqual(
      new Date(hotel?.deadlineAt ?? 0).getTime(),
    );
    expect(trip.timeline.map((s) => s.name)).toContain('cancel-hotel');
  });
});
