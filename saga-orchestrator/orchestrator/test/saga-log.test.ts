import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createPool, databaseUrlFor, migrate, type PoolOptions } from '@lab/shared/pg';
import { own, release, seqScansOf, uniqueName } from '@lab/shared/testkit';
import {
  type Lease,
  LeaseLostError,
  SAGA_LOG_POOL,
  SagaLog,
} from '../src/data-access/saga-log.repository.ts';

const database = uniqueName('saga_fence');
const migrations = join(import.meta.dirname, '../src/data-access/migrations');
/** Owned before it is made, so a failed start drops it too; single tests own theirs alike. */
const ownDatabase = (name: string) =>
  own({ postgres: { url: process.env.DATABASE_URL!, databases: [name] } });
const owned = [ownDatabase(database)];
// Made before the database exists: a pool connects only when first asked.
const pool = createPool(databaseUrlFor(process.env.DATABASE_URL!, database), { max: 2 });
beforeAll(async () => {
  await migrate({
    adminUrl: process.env.DATABASE_URL!,
    database,
    dir: migrations,
  });
});
afterAll(async () => {
  await pool.end();
  for (const resources of owned) expect(await release(resources)).toEqual([]);
});

const createSaga = (log: SagaLog, owner: string | undefined) =>
  log.create({
    id: randomUUID(),
    idempotencyKey: undefined,
    requestHash: 'h',
    request: {},
    traceContext: {},
    deadlineMs: 60_000,
    owner,
  });

describe('fencing', () => {
  test('When a stale instance writes after its lease expired and another claimed the saga, then the write is refused', async () => {
    // Arrange: instance A owns a saga, stalls past its lease, instance B claims it
    const log = new SagaLog(pool, 200);
    const created = await createSaga(log, 'instance-a');
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

describe('adopting a replayed saga', () => {
  test('When the saga is leased to the instance that replays it, then it adopts it with a new lease that fences the old one', async () => {
    const log = new SagaLog(pool, 600_000);
    const created = await createSaga(log, 'instance-a');

    const adopted = await log.adopt(created.id, 'instance-a');

    expect(adopted?.version).toBe(created.lease!.version + 1);
    await expect(
      log.startAttempt(created.lease!, 'reserve-flight', 'action', 1000),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      log.startAttempt(adopted!, 'reserve-flight', 'action', 1000),
    ).resolves.toMatchObject({ attempts: 1 });
  });

  test('When another instance holds a live lease on it, then it is left alone', async () => {
    const log = new SagaLog(pool, 600_000);
    const created = await createSaga(log, 'instance-a');

    expect(await log.adopt(created.id, 'instance-b')).toBeUndefined();
    await expect(
      log.startAttempt(created.lease!, 'reserve-flight', 'action', 1000),
    ).resolves.toMatchObject({ attempts: 1 });
  });

  test('When the saga is unleased or finished, then only the unfinished one is adopted', async () => {
    const log = new SagaLog(pool, 600_000);
    const unleased = await createSaga(log, undefined);
    const finished = await createSaga(log, 'instance-a');
    await log.finish(finished.lease!, 'COMPLETED');

    expect(await log.adopt(unleased.id, 'instance-b')).toMatchObject({ owner: 'instance-b' });
    expect(await log.adopt(finished.id, 'instance-a')).toBeUndefined();
  });
});

describe('group commit of step writes', () => {
  test('When five sagas finish a step at once and one of them lost its lease, then the other four are written in two statements and only that one is refused', async () => {
    // Arrange: five sagas of instance A, one of them since claimed by instance B
    const log = new SagaLog(pool, 600_000);
    const created = await Promise.all(Array.from({ length: 5 }, () => createSaga(log, 'inst-a')));
    const leases = created.map((saga) => saga.lease!);
    await Promise.all(
      leases.map((lease) => log.startAttempt(lease, 'reserve-flight', 'action', 1000)),
    );
    const lost = leases[2]!;
    await pool.query(
      `UPDATE sagas SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [lost.sagaId],
    );
    await log.claim('inst-b', 10);
    // Counts the statements sent; each still runs against the real database.
    const statements = vi.spyOn(pool, 'query');

    // Act: all five in the same tick, as twenty sagas finishing steps side by side would be
    const writes = leases.map((lease) =>
      log.stepSucceeded(
        lease,
        'reserve-flight',
        { cursor: 1, status: 'PENDING', participantMs: 1 },
        { start: { step: 'reserve-hotel', kind: 'action', deadlineMs: 1000 } },
      ),
    );
    const outcomes = await Promise.allSettled(writes);
    const sent = statements.mock.calls.length;
    statements.mockRestore();

    // Assert: the first went alone, the four that came while it was in flight went together
    expect(sent).toBe(2);
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    expect((outcomes[0] as PromiseFulfilledResult<unknown>).value).toMatchObject({ attempts: 1 });
    const { rows } = await pool.query<{ saga_id: string; name: string; state: string }>(
      `SELECT saga_id, name, state FROM saga_steps WHERE saga_id = ANY($1::uuid[]) ORDER BY name`,
      [leases.map((lease) => lease.sagaId)],
    );
    const of = (id: string) =>
      rows.filter((row) => row.saga_id === id).map((r) => `${r.name}:${r.state}`);
    expect(of(lost.sagaId)).toEqual(['reserve-flight:RUNNING']);
    for (const lease of leases.filter((l) => l !== lost))
      expect(of(lease.sagaId)).toEqual(['reserve-flight:SUCCEEDED', 'reserve-hotel:RUNNING']);
  });
});

describe('the step write as the log grows', () => {
  /**
   * Seq scans of `sagas` by one step write, after a connection of a pool made with `options`
   * wrote a saga's seven steps on an empty log and the log then grew to 20,000 sagas.
   */
  async function scansAfterGrowth(options: PoolOptions) {
    const name = uniqueName('saga_plans');
    owned.push(ownDatabase(name));
    await migrate({ adminUrl: process.env.DATABASE_URL!, database: name, dir: migrations });
    const own = createPool(databaseUrlFor(process.env.DATABASE_URL!, name), { ...options, max: 1 });
    try {
      // As on a server without autovacuum: no ANALYZE comes to make the connection plan again.
      await own.query('ALTER TABLE sagas SET (autovacuum_enabled = false)');
      const log = new SagaLog(own, 60_000);
      const steps = async (lease: Lease, count: number) => {
        for (let i = 0; i < count; i++)
          await log.stepSucceeded(
            lease,
            `step-${i}`,
            { cursor: i + 1, status: 'PENDING', participantMs: 1 },
            { start: { step: `step-${i + 1}`, kind: 'action', deadlineMs: 60_000 } },
          );
      };
      await steps((await createSaga(log, 'inst-a')).lease!, 7);
      await own.query(
        `INSERT INTO sagas (id, request_hash, request, status, deadline_at)
         SELECT gen_random_uuid(), 'h', '{}', 'COMPLETED', now() FROM generate_series(1, 20000)`,
      );
      const lease = (await createSaga(log, 'inst-a')).lease!;
      const before = await seqScansOf(own, 'sagas');
      await steps(lease, 1);
      return (await seqScansOf(own, 'sagas')) - before;
    } finally {
      await own.end();
    }
  }

  test('When the log grows after a connection wrote its first steps, then a step write still finds its saga by id instead of reading the whole log', async () => {
    // What the saga log's pool prevents: the plan kept from the empty log reads every saga.
    expect(await scansAfterGrowth({})).toBe(1);
    expect(await scansAfterGrowth(SAGA_LOG_POOL)).toBe(0);
  });
});

describe('counting the unfinished sagas', () => {
  test('When the log holds 20,000 finished sagas beside a few under way, then the count has each unfinished state and reads none of the finished ones', async () => {
    const name = uniqueName('saga_count');
    owned.push(ownDatabase(name));
    await migrate({ adminUrl: process.env.DATABASE_URL!, database: name, dir: migrations });
    const own = createPool(databaseUrlFor(process.env.DATABASE_URL!, name), {
      ...SAGA_LOG_POOL,
      max: 1,
    });
    try {
      await own.query('ALTER TABLE sagas SET (autovacuum_enabled = false)');
      const log = new SagaLog(own, 60_000);
      await own.query(
        `INSERT INTO sagas (id, request_hash, request, status, deadline_at)
         SELECT gen_random_uuid(), 'h', '{}', CASE WHEN i % 2 = 0 THEN 'COMPLETED' ELSE 'COMPENSATED' END, now()
           FROM generate_series(1, 20000) AS i`,
      );
      await own.query(
        `INSERT INTO sagas (id, request_hash, request, status, deadline_at)
         SELECT gen_random_uuid(), 'h', '{}', status, now()
           FROM unnest(ARRAY['CONFIRMING', 'COMPENSATION_STUCK', 'COMPENSATION_STUCK', 'CONFIRMATION_STUCK']) AS status`,
      );
      // Created through the log, and one of them finished: it leaves the count.
      await createSaga(log, 'inst-a');
      await log.finish((await createSaga(log, 'inst-a')).lease!, 'COMPLETED');

      const before = await seqScansOf(own, 'sagas');
      expect(await log.countUnfinished()).toEqual({
        PENDING: 1,
        CONFIRMING: 1,
        COMPENSATING: 0,
        COMPENSATION_STUCK: 2,
        CONFIRMATION_STUCK: 1,
      });
      expect((await seqScansOf(own, 'sagas')) - before).toBe(0);
    } finally {
      await own.end();
    }
  });
});
