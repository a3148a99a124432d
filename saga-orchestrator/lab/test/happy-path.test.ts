import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { databaseUrlFor } from '@lab/shared/pg';
import type { SpanRecord } from '@lab/shared/telemetry';
import { waitFor } from '@lab/shared/testkit';
import { auditSaga } from '../src/audit.ts';
import {
  bookTrip,
  chaos,
  createInventory,
  createStock,
  getTrip,
  post,
  tripRequest,
  waitForStatus,
} from '../src/client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/services.ts';
import { tripsContract } from './trips.contract.ts';

const spans = join(tmpdir(), `saga-happy-${process.pid}.jsonl`);
let lab: SagaLab;

beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('happy'),
    orchestratorEnv: tolerantBudgets,
    env: { LAB_TRACE_EXPORT: `file:${spans}` },
  });
});
afterAll(async () => {
  await lab.stop();
  rmSync(spans, { force: true });
});

interface ListedTrip {
  tripId: string;
  status: string;
  traceId: string | null;
  timeline: { name: string; kind: string; state: string; attempts: number }[];
}

tripsContract(() => ({
  urls: lab.urls,
  audit: () => auditSaga(process.env.DATABASE_URL!, lab.databases),
}));

describe('happy path', () => {
  test('When a trip completes, then its timeline shows the seven steps in order, pivot in the middle', async () => {
    const stock = await createStock(lab.urls, 5);

    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    const trip = await waitForStatus(lab.urls.orchestrator, tripId);

    expect(trip.status).toBe('COMPLETED');
    expect(trip.timeline.map((step) => `${step.name}:${step.state}`)).toEqual([
      'reserve-flight:SUCCEEDED',
      'reserve-hotel:SUCCEEDED',
      'reserve-car:SUCCEEDED',
      'charge-payment:SUCCEEDED',
      'confirm-flight:SUCCEEDED',
      'confirm-hotel:SUCCEEDED',
      'confirm-car:SUCCEEDED',
    ]);
  });

  test("When a trip is created, then its first step's start is logged in the same write: one saga-log write per step", async () => {
    const stock = await createStock(lab.urls, 5);

    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    await waitForStatus(lab.urls.orchestrator, tripId);

    // now() is the transaction's start: rows of one transaction carry the same instant, a
    // later write could not.
    const db = new pg.Client({
      connectionString: databaseUrlFor(process.env.DATABASE_URL!, lab.databases.orchestrator),
    });
    await db.connect();
    try {
      const { rows } = await db.query<{ same: boolean }>(
        `SELECT st.started_at = s.created_at AS same
           FROM sagas s JOIN saga_steps st ON st.saga_id = s.id AND st.name = 'reserve-flight'
          WHERE s.id = $1`,
        [tripId],
      );
      expect(rows).toEqual([{ same: true }]);
    } finally {
      await db.end();
    }
  });

  test('When a trip is accepted, then the answer says PENDING: the booking runs after it, so a read right away may see it unfinished', async () => {
    const stock = await createStock(lab.urls, 5);

    const accepted = await post<{ tripId: string; status: string }>(
      `${lab.urls.orchestrator}/trips`,
      tripRequest(stock),
      {},
      [202],
    );
    const trip = await waitForStatus(lab.urls.orchestrator, accepted.tripId);

    expect(accepted.status).toBe('PENDING');
    expect(trip.status).toBe('COMPLETED');
  });

  test('When a trip completes, then the orchestrator and all four participants share one trace and the metrics count it', async () => {
    const stock = await createStock(lab.urls, 5);

    const tripId = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
    await waitForStatus(lab.urls.orchestrator, tripId);

    const traceOfTrip = await waitFor('spans of every service in the trip trace', () => {
      const records = readFileSync(spans, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as SpanRecord);
      const root = records.find(
        (span) =>
          span.service === 'saga-orchestrator' &&
          span.name === 'saga charge-payment' &&
          span.attributes['saga.id'] === tripId,
      );
      if (!root) return undefined;
      const services = new Set(
        records.filter((span) => span.traceId === root.traceId).map((span) => span.service),
      );
      return services.size >= 5 ? services : undefined;
    });
    expect([...traceOfTrip].sort()).toEqual([
      'saga-cars',
      'saga-flights',
      'saga-hotels',
      'saga-orchestrator',
      'saga-payments',
    ]);
    const metrics = await (await fetch(`${lab.urls.orchestrator}/metrics`)).text();
    expect(metrics).toMatch(/saga_trips_finished_total\{status="COMPLETED"\} ([3-9]|\d{2,})\b/);
    // Every trip this file booked has finished: the gauge of unfinished sagas shows each state at 0.
    for (const status of [
      'PENDING',
      'CONFIRMING',
      'COMPENSATING',
      'COMPENSATION_STUCK',
      'CONFIRMATION_STUCK',
    ])
      expect(metrics).toContain(`saga_sagas{status="${status}"} 0\n`);
    expect(metrics).toMatch(
      /saga_step_duration_seconds_count\{step="charge-payment",outcome="ok"\} \d+/,
    );
    // A completed trip's seven step writes (one per step, each starting the next or finishing
    // the saga; the first step's start was its creation) went through group commit, each
    // transaction carrying at least one of them.
    const groupCommits = Number(/^saga_log_group_commit_size_count (\d+)$/m.exec(metrics)?.[1]);
    const groupedWrites = Number(/^saga_log_group_commit_size_sum (\d+)$/m.exec(metrics)?.[1]);
    expect(groupedWrites).toBeGreaterThanOrEqual(7);
    expect(groupCommits).toBeGreaterThan(0);
    expect(groupCommits).toBeLessThanOrEqual(groupedWrites);
    // Every one of those writes was timed from the step's side, waiting included.
    const timedWrites = Number(/^saga_log_write_duration_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    expect(timedWrites).toBe(groupedWrites);
  });
});

// What the console reads: the trip list and the saga's shape. Declared last, so the trips its
// first test books are the newest this lab holds.
describe('GET /trips and GET /saga-definition', () => {
  // The list's order, traces, filter and 400s are the contract's (trips.contract.ts), for both
  // wirings; what only the saga has is the timeline of each trip.
  test('When a trip was compensated, then GET /trips lists it with its timeline: the refused step and the compensation', async () => {
    // A hotel with no rooms: its reservation is refused and the flight hold is compensated.
    const stock = await createStock(lab.urls, 1);
    const soldOut = { ...stock, hotel: await createInventory(lab.urls.hotels, 0) };
    const compensated = await bookTrip(lab.urls.orchestrator, tripRequest(soldOut));
    await waitForStatus(lab.urls.orchestrator, compensated);

    const res = await fetch(`${lab.urls.orchestrator}/trips?limit=1`);
    const [newest] = ((await res.json()) as { trips: ListedTrip[] }).trips;

    expect(newest?.tripId).toBe(compensated);
    expect(newest?.timeline.map((s) => `${s.kind}:${s.name}:${s.state}`)).toEqual([
      'action:reserve-flight:SUCCEEDED',
      'action:reserve-hotel:FAILED',
      'compensation:cancel-flight:SUCCEEDED',
    ]);
  });

  test('When asked for the saga definition, then it lists every step in order with the pivot and each compensation', async () => {
    const res = await fetch(`${lab.urls.orchestrator}/saga-definition`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: 'book-trip',
      steps: [
        { name: 'reserve-flight', kind: 'compensatable', compensation: 'cancel-flight' },
        { name: 'reserve-hotel', kind: 'compensatable', compensation: 'cancel-hotel' },
        { name: 'reserve-car', kind: 'compensatable', compensation: 'cancel-car' },
        { name: 'charge-payment', kind: 'pivot', compensation: 'refund-payment' },
        { name: 'confirm-flight', kind: 'retriable', compensation: null },
        { name: 'confirm-hotel', kind: 'retriable', compensation: null },
        { name: 'confirm-car', kind: 'retriable', compensation: null },
      ],
    });
  });
});

describe('Prefer: wait', () => {
  const bookAndWait = (stock: Awaited<ReturnType<typeof createStock>>, seconds: number) =>
    fetch(`${lab.urls.orchestrator}/trips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: `respond-async, wait=${seconds}` },
      body: JSON.stringify(tripRequest(stock)),
    });

  test('When a client asks to wait, then POST /trips answers once the trip is terminal, with its outcome, and says the preference was applied', async () => {
    const stock = await createStock(lab.urls, 5);

    const res = await bookAndWait(stock, 30);
    const answer = (await res.json()) as { tripId: string; status: string };

    expect(res.status).toBe(202);
    expect(res.headers.get('preference-applied')).toBe('wait=30');
    expect(answer.status).toBe('COMPLETED');
    const trip = await getTrip(lab.urls.orchestrator, answer.tripId);
    expect(trip.status).toBe('COMPLETED');
    expect(trip.timeline).toHaveLength(7);
  });

  test('When the trip outlasts the wait, then the answer comes when the wait is up, and GET /trips/:id with a wait answers when it ends', async () => {
    const stock = await createStock(lab.urls, 5);
    // The next flight hold takes about 2.5 s: longer than the POST will wait, shorter than a step may.
    await chaos(lab.urls.flights, {
      target: 'action',
      latency: { p50Ms: 2500, p99Ms: 2600 },
      next: 1,
    });

    const started = performance.now();
    const res = await bookAndWait(stock, 1);
    const waited = performance.now() - started;
    const answer = (await res.json()) as { tripId: string; status: string };

    expect(res.status).toBe(202);
    expect(answer.status).toBe('PENDING');
    // Held for the wait (the timer cannot fire sooner), then answered with the trip unfinished.
    expect(waited).toBeGreaterThanOrEqual(950);
    const later = await fetch(`${lab.urls.orchestrator}/trips/${answer.tripId}`, {
      headers: { prefer: 'wait=30' },
    });
    expect(later.headers.get('preference-applied')).toBe('wait=30');
    expect(((await later.json()) as { status: string }).status).toBe('COMPLETED');
  });
});
