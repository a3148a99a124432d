import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { databaseUrlFor, ensureDatabase } from '../src/pg.ts';
import {
  spawnService,
  startPrivatePostgres,
  waitFor,
  type PrivatePostgres,
} from '../src/testkit/index.ts';

/**
 * PostgreSQL cut off under the shared pg kit where no request is there to see it: while a
 * service migrates at start-up, and under its LISTEN connection while it shuts down. Against a
 * private cluster, never the machine's shared server.
 */
const entry = new URL('./fixtures/gated-service.ts', import.meta.url).pathname;
/** The advisory lock the fixture's migration waits on (fixtures/gated-migrations/001_gated.sql). */
const GATE = 4_242_001;
const START_BUDGET_MS = 60_000;

let postgres: PrivatePostgres | undefined;

function cluster(): PrivatePostgres {
  if (!postgres) throw new Error('the private PostgreSQL did not start');
  return postgres;
}

/** A session on `database` of the private cluster; the tests cut it, so it ignores its loss. */
async function session(database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrlFor(cluster().url, database) });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function query<T extends pg.QueryResultRow>(
  sql: string,
  values: unknown[] = [],
  database?: string,
): Promise<T[]> {
  const client = await session(database);
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** The backend of the fixture's migration while it waits on the gate, if it does now. */
async function migrationWaiting(database: string): Promise<number | undefined> {
  const rows = await query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'`,
    [database],
  );
  return rows[0]?.pid;
}

/** `waiting`, unless the service's start fails first: then its crash, with its last log lines. */
function unlessItDies<T>(waiting: Promise<T>, starting: Promise<unknown>): Promise<T> {
  return Promise.race([waiting, starting.then(() => waiting)]);
}

describe('pg faults: PostgreSQL cut off while a service migrates or shuts down', () => {
  beforeAll(async () => {
    postgres = await startPrivatePostgres();
  });

  afterAll(() => {
    postgres?.destroy();
  });

  it.each(['terminated', 'restarted'] as const)(
    'When the connection of a migration is cut half-way (its backend %s), then the service survives, migrates again and becomes ready',
    async (cut) => {
      const database = `gated_${cut}`;
      await ensureDatabase(cluster().url, database);
      const gate = await session(database);
      await gate.query('SELECT pg_advisory_lock($1)', [GATE]);
      const starting = spawnService({
        entry,
        env: { DATABASE_URL: cluster().url, DATABASE_NAME: database },
        timeoutMs: START_BUDGET_MS,
      });
      starting.catch(() => undefined);
      onTestFinished(async () => {
        // Lets a migration still waiting go on, so the service can be stopped.
        await gate.end().catch(() => undefined);
        await (await starting.catch(() => undefined))?.stop();
      });

      const first = await waitFor('the migration to wait on the gate', () =>
        migrationWaiting(database),
      );
      if (cut === 'terminated') {
        await query('SELECT pg_terminate_backend($1)', [first]);
        // Alive, it tries again on a new connection, which waits on the gate as the first did.
        await unlessItDies(
          waitFor('the migration to wait on the gate again', async () => {
            const again = await migrationWaiting(database);
            return again !== undefined && again !== first;
          }),
          starting,
        );
        await gate.query('SELECT pg_advisory_unlock($1)', [GATE]);
      } else {
        // A restart ends the gate's session too, and its lock with it.
        await cluster().restart('fast');
      }

      const service = await starting;
      expect(service.alive()).toBe(true);
      expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
      expect(service.logs.join('\n')).toMatch(/not reachable yet \(migrating gated_/);
      const applied = await query<{ name: string }>(
        'SELECT name FROM schema_migrations',
        [],
        database,
      );
      expect(applied.map((row) => row.name)).toEqual(['001_gated']);
    },
    90_000,
  );

  it('When PostgreSQL is frozen under its LISTEN connection, then SIGTERM still ends the process: closing that connection does not wait for a goodbye the server cannot send', async () => {
    const service = await spawnService({
      entry,
      env: { DATABASE_URL: cluster().url, DATABASE_NAME: 'gated_frozen' },
      timeoutMs: START_BUDGET_MS,
    });
    onTestFinished(async () => {
      cluster().thaw();
      await service.kill();
    });

    cluster().freeze();
    service.child.kill('SIGTERM');
    await waitFor('the service to exit after SIGTERM', () => !service.alive(), {
      timeoutMs: 15_000,
    });
    expect(await service.exited).toBe(0);
  }, 60_000);
});
