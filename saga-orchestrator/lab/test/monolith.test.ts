/**
 * The modular monolith against the lab's contract: the same API-level tests as the split lab,
 * through the same client, on one process and one database. Beside them, what only this
 * wiring promises: PostgreSQL keeps each module inside its own schema, and a crash takes the
 * whole service down at once but never leaves a trip half-booked.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { databaseUrlFor } from '@lab/shared/pg';
import { waitFor } from '@lab/shared/testkit';
import { auditMonolith } from '../src/audit.ts';
import { bookTrip, createStock, getTrip, inventory, post, tripRequest } from '../src/client.ts';
import {
  adminDatabaseUrl,
  startSagaMonolith,
  uniqueMonolithDatabase,
  type SagaMonolith,
} from '../src/services.ts';
import { tripsContract } from './trips.contract.ts';

let monolith: SagaMonolith;

beforeAll(async () => {
  monolith = await startSagaMonolith({ database: uniqueMonolithDatabase('contract') });
});
afterAll(async () => {
  await monolith.stop();
});

tripsContract(() => ({
  urls: monolith.urls,
  audit: () => auditMonolith(adminDatabaseUrl(), monolith.database),
}));

/** What a module's repository can do: run `sql` as the module's role, on its search path. */
async function asModuleRole(module: string, sql: string): Promise<string> {
  const client = new pg.Client({
    connectionString: databaseUrlFor(adminDatabaseUrl(), monolith.database),
  });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `SET LOCAL ROLE "${monolith.database}_${module}"; SET LOCAL search_path TO ${module}`,
    );
    await client.query(sql);
    return 'allowed';
  } catch (error) {
    return (error as { code?: string }).code === '42501' ? 'refused' : String(error);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  }
}

describe('module boundaries', () => {
  test.each([
    ['flights', 'SELECT * FROM flights.inventory', 'allowed'],
    ['flights', 'SELECT * FROM hotels.inventory', 'refused'],
    ['hotels', 'UPDATE cars.inventory SET confirmed = 0', 'refused'],
    ['payments', 'SELECT * FROM charges', 'allowed'],
    ['payments', 'SELECT * FROM trips.trips', 'refused'],
    ['trips', 'SELECT * FROM trips', 'allowed'],
    ['trips', 'SELECT * FROM payments.charges', 'refused'],
  ])(
    'When the %s module runs `%s`, then PostgreSQL says %s: a module reaches only its own schema',
    async (module, sql, expected) => {
      expect(await asModuleRole(module, sql)).toBe(expected);
    },
  );
});

describe('no network between modules', () => {
  test('When POST /trips answers, then the trip is already final: the answer and the first read agree', async () => {
    const stock = await createStock(monolith.urls, 5);

    const accepted = await post<{ tripId: string; status: string }>(
      `${monolith.urls.orchestrator}/trips`,
      tripRequest(stock),
      {},
      [202],
    );
    const read = await getTrip(monolith.urls.orchestrator, accepted.tripId);

    expect(accepted.status).toBe('COMPLETED');
    expect(read.status).toBe('COMPLETED');
    expect(await inventory(monolith.urls.hotels, stock.hotel)).toMatchObject({ confirmed: 1 });
  });

  test('When a module is slow (its row locked by another transaction), then the trip waits and completes: no timeout, retry or ambiguous step exists', async () => {
    // Arrange: another transaction holds the hotel's inventory row
    const stock = await createStock(monolith.urls, 5);
    const blocker = new pg.Client({
      connectionString: databaseUrlFor(adminDatabaseUrl(), monolith.database),
    });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM hotels.inventory WHERE id = $1 FOR UPDATE', [stock.hotel]);

      // Act
      const booking = bookTrip(monolith.urls.orchestrator, tripRequest(stock));
      await waitFor('the trip to wait on the hotel row', async () => {
        const { rows } = await blocker.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return (rows[0]?.n ?? 0) > 0 ? true : undefined;
      });
      await blocker.query('COMMIT');
      const trip = await getTrip(monolith.urls.orchestrator, await booking);

      // Assert
      expect(trip.status).toBe('COMPLETED');
      expect(await inventory(monolith.urls.hotels, stock.hotel)).toMatchObject({ confirmed: 1 });
    } finally {
      await blocker.end();
    }
  });
});

describe('one process, one failure domain', () => {
  test('When the monolith is SIGKILLed while trips are booked, then nothing answers until it restarts, and every trip is fully booked or absent', async () => {
    // Arrange: 40 trips for 10 rooms, booked by 8 clients
    const stock = await createStock(monolith.urls, 10);
    const answers: { status: number; tripId?: string }[] = [];
    const book = async () => {
      const res = await fetch(`${monolith.urls.orchestrator}/trips`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(tripRequest(stock)),
      }).catch(() => undefined);
      answers.push(
        res
          ? { status: res.status, ...((await res.json()) as { tripId?: string }) }
          : { status: 0 },
      );
    };
    const clients = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 5; i++) await book();
    });

    // Act: kill once some trips are answered, while others are in their transaction
    await waitFor('a few trips booked', () => (answers.length >= 5 ? true : undefined));
    await monolith.kill();
    await Promise.all(clients);
    const whileDown = await fetch(`${monolith.urls.orchestrator}/healthz`).catch(() => undefined);
    await monolith.restart();

    // Assert: down as one, and no trip half-written on either side of the crash
    expect(whileDown).toBeUndefined();
    expect(answers.some((answer) => answer.status === 0)).toBe(true);
    for (const { tripId } of answers.filter((answer) => answer.status === 202))
      expect(['COMPLETED', 'COMPENSATED']).toContain(
        (await getTrip(monolith.urls.orchestrator, tripId!)).status,
      );
    expect(await auditMonolith(adminDatabaseUrl(), monolith.database)).toEqual([]);
  });
});
