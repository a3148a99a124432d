import pg from 'pg';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { databaseUrlFor } from '@lab/shared/pg';
import { auditSaga } from '../src/audit.ts';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  getTrip,
  tripRequest,
  waitForStatus,
} from '../src/client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/services.ts';

// One lab for the file: its first orchestrator only accepts trips (SAGA_WORKER=0), so whatever
// runs them is what each case starts beside it, and stops again when the case ends.
let lab: SagaLab;
let acceptOnly: string;
beforeAll(async () => {
  lab = await startSagaLab({
    databases: uniqueDatabases('leases'),
    orchestratorEnv: {
      ...tolerantBudgets,
      SAGA_WORKER: '0',
    },
  });
  acceptOnly = lab.urls.orchestrator;
});
afterAll(async () => {
  await lab.stop();
});

describe('two orchestrators share one backlog', () => {
  test('When two orchestrators run the same backlog, then every trip finishes exactly once', async () => {
    // Arrange
    const stock = await createStock(lab.urls, 100);
    const tripIds: string[] = [];
    for (let i = 0; i < 40; i++)
      tripIds.push(await bookTrip(acceptOnly, tripRequest(stock, { customerId: `c${i}` })));

    // Act: two workers claim with SKIP LOCKED, in small batches so they interleave
    const workers = { SAGA_WORKER: '1', CLAIM_BATCH: '3', POLL_INTERVAL_MS: '20' };
    const [a, b] = await Promise.all([
      lab.startOrchestrator({ ...workers, ORCHESTRATOR_ID: 'instance-a' }),
      lab.startOrchestrator({ ...workers, ORCHESTRATOR_ID: 'instance-b' }),
    ]);
    // Their claim loops would otherwise take the next case's trips.
    onTestFinished(() => Promise.all([a.stop(), b.stop()]).then(() => undefined));
    for (const tripId of tripIds) await waitForStatus(a.url, tripId, undefined, 90_000);

    // Assert: each saga was finished by exactly one instance (the fence refuses a second
    // finish), and the participants saw one effect per step
    for (const tripId of tripIds)
      expect((await getTrip(acceptOnly, tripId)).status).toBe('COMPLETED');
    const finished = async (url: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/saga_trips_finished_total\{status="COMPLETED"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    expect((await finished(a.url)) + (await finished(b.url))).toBe(40);
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });
});

describe('a replayed POST /trips', () => {
  test('When the first POST committed the saga but its answer was lost, then the retry starts the saga at once even with SAGA_WORKER=own', async () => {
    // Arrange: the saga row as an instance leaves it when its INSERT commits and neither the
    // answer nor the run survives: leased to that instance for an hour, with no run behind it.
    const stock = await createStock(lab.urls, 5);
    const body = tripRequest(stock);
    const key = `replay-${Date.now()}`;
    const tripId = await bookTrip(acceptOnly, body, { 'idempotency-key': key });
    const client = new pg.Client(
      databaseUrlFor(process.env.DATABASE_URL!, lab.databases.orchestrator),
    );
    await client.connect();
    try {
      await client.query(
        `UPDATE sagas SET lease_owner = 'instance-own', lease_version = 1,
                lease_expires_at = now() + interval '1 hour' WHERE id = $1`,
        [tripId],
      );
    } finally {
      await client.end();
    }
    const own = await lab.startOrchestrator({
      SAGA_WORKER: 'own',
      ORCHESTRATOR_ID: 'instance-own',
      LEASE_TTL_MS: '3600000',
    });

    // Act: the client retries with the same key
    const res = await fetch(`${own.url}/trips`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });

    // Assert: the replay names the same trip, and the trip runs to the end without waiting
    // for the hour-long lease (no claim loop runs with SAGA_WORKER=own)
    expect(res.status).toBe(202);
    expect(res.headers.get('idempotent-replayed')).toBe('true');
    expect(((await res.json()) as { tripId: string }).tripId).toBe(tripId);
    expect((await waitForStatus(own.url, tripId)).status).toBe('COMPLETED');
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });
});

describe('an operator action on an instance without a claim loop', () => {
  test('When an operator retries a stuck compensation on an instance with SAGA_WORKER=own, then that instance runs it to the end', async () => {
    // Arrange: a trip whose hotel is refused and whose flight release keeps failing, run by an
    // instance that only drives what it accepts
    const own = await lab.startOrchestrator({
      ...tolerantBudgets,
      SAGA_WORKER: 'own',
      ORCHESTRATOR_ID: 'instance-operator',
      COMPENSATION_STUCK_AFTER: '2',
      RETRY_MAX_MS: '100',
    });
    onTestFinished(() => own.stop().then(() => undefined));
    const stock = await createStock(lab.urls, 2);
    await chaos(lab.urls.hotels, { target: 'action', faults: { reject: 1 }, next: 1 });
    await chaos(lab.urls.flights, { target: 'compensation', faults: { error: 1 } });
    const tripId = await bookTrip(own.url, tripRequest(stock));
    await waitForStatus(own.url, tripId, ['COMPENSATION_STUCK']);
    await clearChaos(lab.urls.flights);

    // Act
    const res = await fetch(`${own.url}/trips/${tripId}/retry-compensation`, { method: 'POST' });

    // Assert: accepted, and carried out by the instance that accepted it; a client waiting on
    // the other instance, which drives nothing, follows the log until the trip ends
    expect(res.status).toBe(202);
    const waited = await fetch(`${acceptOnly}/trips/${tripId}`, {
      headers: { prefer: 'wait=15' },
    });
    expect(((await waited.json()) as { status: string }).status).toBe('COMPENSATED');
    expect(await auditSaga(process.env.DATABASE_URL!, lab.databases)).toEqual([]);
  });
});
