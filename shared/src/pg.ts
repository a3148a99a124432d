import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// BIGINT and NUMERIC come back as strings by default; the labs' counters and money fit in a
// JS number, and strings would leak into JSON answers and arithmetic.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

/** The URL of `database` on the same server as `baseUrl`: one database per service. */
export function databaseUrlFor(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export function createPool(connectionString: string, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: 5000,
    ...options,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it kills the
  // process. The next query reconnects, so note it and carry on.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `work` in one transaction: COMMIT if it resolves, ROLLBACK if it throws. Everything a
 * command writes (domain rows and outbox events alike) goes through here, so there is no way
 * to write one without the other.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  isolation: 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE' = 'READ COMMITTED',
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

const MIGRATION_LOCK_WAIT_MS = 30_000;

/** Creates `database` on the server of `adminUrl` unless it exists; safe to race. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(database))
    throw new Error(`invalid database name: ${database}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return;
    await client.query(`CREATE DATABASE ${database}`).catch((error: unknown) => {
      // Two processes starting together both see "missing"; the loser's duplicate is fine.
      if (
        (error as { code?: string }).code !== '42P04' &&
        (error as { code?: string }).code !== '23505'
      )
        throw error;
    });
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Creates the service's database if needed and applies its versioned SQL migrations
 * (node-pg-migrate: one `.sql` file per version with `-- Up Migration` / `-- Down Migration`
 * sections, applied in order under an advisory lock, so replicas starting together migrate
 * once). Returns the names of the migrations applied now; none on a second run.
 */
export async function migrate(options: {
  adminUrl: string;
  database: string;
  dir: string;
  logger?: Logger;
}): Promise<string[]> {
  await ensureDatabase(options.adminUrl, options.database);
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
  for (;;) {
    try {
      const applied = await runner({
        databaseUrl: databaseUrlFor(options.adminUrl, options.database),
        dir: options.dir,
        direction: 'up',
        migrationsTable: 'schema_migrations',
        checkOrder: true,
        log: (message) => options.logger?.debug({ migration: message }, 'migration'),
      });
      return applied.map((migration) => migration.name);
    } catch (error) {
      // node-pg-migrate refuses rather than waits when another process holds the lock; the
      // other replica is doing the same work, so wait for it and then find nothing to do.
      const locked =
        error instanceof Error && error.message.includes('Another migration is already running');
      if (!locked || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}
