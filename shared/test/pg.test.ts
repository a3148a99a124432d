import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { isDependencyUnavailable } from '../src/http/errors.ts';
import {
  createPool,
  databaseUrlFor,
  PostgresNotAnswering,
  dropDatabase,
  migrate,
  type Pool,
  withTransaction,
} from '../src/pg.ts';
import { uniqueName, waitFor } from '../src/testkit/index.ts';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databases = [uniqueName('orders_svc'), uniqueName('billing_svc')];

const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
writeFileSync(
  join(dir, '001_create_items.sql'),
  '-- Up Migration\nCREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n-- Down Migration\nDROP TABLE items;\n',
);
writeFileSync(
  join(dir, '002_add_price.sql'),
  '-- Up Migration\nALTER TABLE items ADD COLUMN price_cents int NOT NULL DEFAULT 0;\n-- Down Migration\nALTER TABLE items DROP COLUMN price_cents;\n',
);

afterAll(async () => {
  for (const database of databases) await dropDatabase(adminUrl, database);
  rmSync(dir, { recursive: true, force: true });
});

/** What a promise rejected with, or undefined when it resolved. */
const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/** A pool whose warnings land in `warnings`, so a test can see whether its breaker opened. */
function watchedPool(options: Parameters<typeof createPool>[1]) {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  return { pool: createPool(adminUrl, { ...options, logger }), warnings };
}

/** A second session holding advisory lock `key`, as a learner's open transaction in psql would. */
async function holdLock(key: number) {
  const holder = new pg.Client({ connectionString: adminUrl });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock($1)', [key]);
  return {
    release: () => holder.query('SELECT pg_advisory_unlock($1)', [key]),
    end: () => holder.end(),
  };
}

describe('pg', () => {
  it('When a pool from createPool reads BIGINT and NUMERIC, then it gets numbers, while another pg client in the same process still gets the driver strings', async () => {
    const sql = 'SELECT 9007199254740991::bigint AS big, 12.5::numeric AS amount, 3::int AS small';
    const pool = createPool(adminUrl);
    const driverPool = createPool(adminUrl, { types: pg.types });
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      expect((await pool.query(sql)).rows[0]).toEqual({
        big: 9007199254740991,
        amount: 12.5,
        small: 3,
      });
      const driver = { big: '9007199254740991', amount: '12.5', small: 3 };
      expect((await driverPool.query(sql)).rows[0]).toEqual(driver);
      expect((await client.query(sql)).rows[0]).toEqual(driver);
    } finally {
      await client.end();
      await Promise.all([pool.end(), driverPool.end()]);
    }
  });

  it('When migrations run twice on each service database, then the second run applies nothing', async () => {
    for (const database of databases) {
      expect(await migrate({ adminUrl, database, dir })).toEqual([
        '001_create_items',
        '002_add_price',
      ]);
      expect(await migrate({ adminUrl, database, dir })).toEqual([]);
    }
    const pool = createPool(databaseUrlFor(adminUrl, databases[0]!));
    const { rows } = await pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY column_name",
    );
    expect(rows.map((r) => r.column_name)).toEqual(['id', 'name', 'price_cents']);
    await pool.end();
  });

  it('When two services migrate concurrently, then each database ends up migrated once', async () => {
    const [a, b] = [uniqueName('race_a'), uniqueName('race_a')];
    databases.push(a, b);
    const results = await Promise.all([
      migrate({ adminUrl, database: a, dir }),
      migrate({ adminUrl, database: a, dir }),
      migrate({ adminUrl, database: b, dir }),
    ]);
    expect(results[0].length + results[1].length).toBe(2);
    expect(results[2]).toHaveLength(2);
  });

  it('When the work inside a transaction throws, then nothing it wrote remains', async () => {
    const pool = createPool(databaseUrlFor(adminUrl, databases[0]!));
    await expect(
      withTransaction(pool, async (client) => {
        await client.query("INSERT INTO items (id, name) VALUES (1, 'kept?')");
        throw new Error('business rule broken');
      }),
    ).rejects.toThrow('business rule broken');
    const { rowCount } = await pool.query('SELECT 1 FROM items WHERE id = 1');
    expect(rowCount).toBe(0);
    await pool.end();
  });

  it('When a pool is made with planEachExecution, then its connections plan every execution afresh and keep the other server options', async () => {
    const setting = async (pool: Pool, name: string) =>
      (await pool.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name];
    const planned = createPool(adminUrl, {
      max: 1,
      planEachExecution: true,
      options: '-c statement_timeout=12345',
    });
    // pg takes a URL's options over the config's: they must be kept too.
    const url = new URL(adminUrl);
    url.searchParams.set('options', '-c lock_timeout=2345');
    const plannedFromUrl = createPool(url.toString(), { max: 1, planEachExecution: true });
    const plain = createPool(adminUrl, { max: 1 });
    try {
      expect(await setting(planned, 'plan_cache_mode')).toBe('force_custom_plan');
      expect(await setting(planned, 'statement_timeout')).toBe('12345ms');
      expect(await setting(plannedFromUrl, 'plan_cache_mode')).toBe('force_custom_plan');
      expect(await setting(plannedFromUrl, 'lock_timeout')).toBe('2345ms');
      expect(await setting(plain, 'plan_cache_mode')).toBe('auto');
    } finally {
      await Promise.all([planned.end(), plannedFromUrl.end(), plain.end()]);
    }
  });

  it('When the server ends a connection checked out by a transaction, then the process survives, the error is logged once and the broken client is not reused', async () => {
    const { pool, warnings } = watchedPool({ max: 1 });
    const admin = createPool(adminUrl, { max: 1 });
    try {
      let killedPid = 0;
      const failure = await failureOf(
        withTransaction(pool, async (client) => {
          const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          killedPid = rows[0]!.pid;
          // The backend goes away while this client is checked out and idle between queries:
          // its 'error' event has no pool listener to land on.
          await admin.query('SELECT pg_terminate_backend($1)', [killedPid]);
          await waitFor('the client to hear of it', () => warnings.length > 0);
          await client.query('SELECT 1');
        }),
      );
      expect(isDependencyUnavailable(failure)).toBe(true);
      expect(warnings).toHaveLength(1);
      expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40 });

      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(rows[0]!.pid).not.toBe(killedPid);
    } finally {
      await pool.end();
      await admin.end();
    }
  });

  it('When every pooled connection waits on a lock, then a checkout that times out fails as unavailable, but the pool breaker stays closed: the server still answers', async () => {
    const { pool, warnings } = watchedPool({ max: 1, connectionTimeoutMillis: 300 });
    const lock = 7_301_001;
    const holder = await holdLock(lock);
    try {
      // The pool's one connection queues behind the holder's lock.
      const waiting = pool.query('SELECT pg_advisory_xact_lock($1)', [lock]);
      const exhausted = await failureOf(pool.query('SELECT 1'));
      await holder.release();
      await waiting;

      // 503 for the request that found no connection, as for any dependency it cannot reach.
      expect((exhausted as Error).message).toMatch(/timeout exceeded when trying to connect/);
      expect(isDependencyUnavailable(exhausted)).toBe(true);
      // An open breaker would refuse this at once, and for at least a second.
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(warnings.join('')).not.toMatch(/breaker is open/);
    } finally {
      await holder.end();
      await pool.end();
    }
  });

  it('When a query waits on a lock past its query timeout, then it fails as unavailable, but the pool breaker stays closed: the server still answers', async () => {
    const { pool, warnings } = watchedPool({ max: 2, query_timeout: 300 });
    const lock = 7_301_002;
    // Held past the query timeout.
    const holder = await holdLock(lock);
    try {
      const timedOut = await failureOf(pool.query('SELECT pg_advisory_xact_lock($1)', [lock]));

      expect((timedOut as Error).message).toBe('Query read timeout');
      expect(isDependencyUnavailable(timedOut)).toBe(true);
      // The next checkout waits for the probe's verdict, then is served while the lock is still
      // held: an open breaker would refuse it at once.
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(warnings.join('')).not.toMatch(/breaker is open/);
    } finally {
      await holder.release();
      await holder.end();
      await pool.end();
    }
  });

  it('When the server stops answering, then a checkout made while the probe asks waits for its verdict and is refused as not answering, without a timeout of its own', async () => {
    // A server that accepts connections and never answers: PostgreSQL frozen, seen from pg.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const pool = createPool(`postgres://postgres@127.0.0.1:${port}/postgres`, {
      connectionTimeoutMillis: 300,
    });
    try {
      const first = await failureOf(pool.query('SELECT 1'));
      const second = await failureOf(pool.query('SELECT 1'));

      expect((first as Error).message).toMatch(/connection timeout/);
      // Not a connection timeout of its own: it never tried a connection to the silent server.
      expect(second).toBeInstanceOf(PostgresNotAnswering);
      expect(isDependencyUnavailable(second)).toBe(true);
    } finally {
      await pool.end();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
