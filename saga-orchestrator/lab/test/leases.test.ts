import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPool, databaseUrlFor, dropDatabase, migrate, type Pool } from '@lab/shared/pg';
import { uniqueName } from '@lab/shared/testkit';
import { LeaseLostError, SagaLog } from '../../orchestrator/src/data-access/saga-log.repository.ts';
import { auditSaga } from '../src/audit.ts';
import { bookTrip, createStock, getTrip, tripRequest, waitForStatus } from '../src/saga-client.ts';
import { startSagaLab, tolerantBudgets, uniqueDatabases, type SagaLab } from '../src/saga-lab.ts';

describe('two orchestrators share one backlog', () => {
  let lab: SagaLab;
  beforeAll(async () => {
    // The first orchestrator only accepts trips: that is the backlog the other two share.
    lab = await startSagaLab({
      databases: uniqueDatabases('leases'),
      orchestratorEnv: {
        ...tolerantBudgets,
        SAGA_WORKER: '0',
      },
    });
  });
  afterAll(async () => {
    await lab.stop();
  });

  test('When two orchestrators run the same backlog, then every trip finishes exactly once', async () => {
    // Arrange
    const stock = await createStock(lab.urls, 100);
    const acceptOnly = lab.urls.orchestrator;
    const tripIds: string[] = [];
    for (let i = 0; i < 40; i++)
      tripIds.push(await bookTrip(acceptOnly, tripRequest(stock, { customerId: `c${i}` })));

    // Act: two workers claim with SKIP LOCKED, in small batches so they interleave
    const workers = { SAGA_WORKER: '1', CLAIM_BATCH: '3', POLL_INTERVAL_MS: '20' };
    const [a, b] = await Promise.all([
      lab.startOrchestrator({ ...workers, ORCHESTRATOR_ID: 'instance-a' }),
      lab.startOrchestrator({ ...workers, ORCHESTRATOR_ID: 'instance-b' }),
    ]);
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

describe('fencing', () => {
  const database = uniqueName('saga_fence');
  let pool: Pool;
  beforeAll(async () => {
    await migrate({
      adminUrl: process.env.DATABASE_URL!,
      database,
      dir: join(import.meta.dirname, '../../orchestrator/src/data-access/migrations'),
    });
    pool = createPool(databaseUrlFor(process.env.DATABASE_URL!, database), { max: 2 });
  });
  afterAll(async () => {
    await pool.end();
    await dropDatabase(process.env.DATABASE_URL!, database);
  });

  test('When a stale instance writes after its lease expired and another claimed the saga, then the write is refused', async () => {
    // Arrange: instance A owns a saga, stalls past its lease, instance B claims it
    const log = new SagaLog(pool, 200);
    const created = await log.create({
      id: randomUUID(),
      idempotencyKey: undefined,
      requestHash: 'h',
      request: {},
      traceContext: {},
      deadlineMs: 60_000,
      owner: 'instance-a',
    });
    const stale = created.lease!;
    await pool.query(`UPDATE sagas SET lease_expires_at = now() - interval '1 second'`);
    const [fresh] = await log.claim('instance-b', 10);

    // Act
    const staleWrite = log.startAttempt(stale, 'reserve-flight', 'action', 1000);
    const freshWrite = log.startAttempt(fresh!, 'reserve-flight', 'action', 1000);

    // Assert
    await expect(staleWrite).rejects.toBeInstanceOf(LeaseLostError);
    await expect(freshWrite).resolves.toMatchObject({ attempts: 1 });
    expect(fresh!.version).toBe(stale.version + 1);
  });
});
