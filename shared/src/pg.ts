import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import { dependencyUnavailable, isDependencyUnavailable } from './http/errors.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

const asNumber = new Map<number, (value: string) => number>([
  [pg.types.builtins.INT8, Number],
  [pg.types.builtins.NUMERIC, Number],
]);
const driverParser = pg.types.getTypeParser as (oid: number, format?: string) => unknown;

/**
 * Column parsing that returns BIGINT and NUMERIC as JS numbers. The driver returns them as
 * strings, because they can exceed a number's 53 bits of precision; the labs' counters,
 * positions and money fit in a number, and a string would leak into JSON answers and
 * arithmetic. A per-pool choice (pg's `types` option), so no other pg client in the process
 * parses differently because this module was imported.
 */
export const numberTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    asNumber.get(oid) ?? driverParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The URL of `database` on the same server as `baseUrl`: one database per service. */
export function databaseUrlFor(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * How long a query may go unanswered before the pool gives up on its connection. A server that
 * stops answering without closing the socket (frozen, swapped out, behind a partition that
 * drops packets) would otherwise hold the request, and the pooled connection, until the kernel
 * gives up on the socket many minutes later. Generous on purpose: a service's statements take
 * milliseconds, and the longest the lab sends (the CQRS bench seeding 100,000 orders, one
 * statement per table) finishes inside it.
 */
export const QUERY_TIMEOUT_MS = 15_000;

/** pg's message when a query got no answer within query_timeout. */
const QUERY_TIMED_OUT = 'Query read timeout';

/**
 * What a pool's breaker answers while PostgreSQL is not answering: a dependency that is away
 * (503 with Retry-After), without a connection or a query that would wait out the timeouts.
 */
export class PostgresNotAnswering extends Error {
  constructor() {
    super(
      'PostgreSQL stopped answering (a timeout); requests fail at once until a probe connection gets an answer',
    );
    this.name = 'PostgresNotAnswering';
  }
}

/**
 * The timeouts that may mean the server stopped answering, not that it refused. Each may also
 * mean it is busy with us while it answers everyone else: a query waiting on a row lock another
 * transaction holds (a learner's open `SELECT ... FOR UPDATE` in psql), or no pooled connection
 * free because every one waits so. Only a probe of the breaker's own can tell the two apart.
 */
const MAY_BE_AWAY = [
  new RegExp(`^${QUERY_TIMED_OUT}$`), // a query on an open connection got no answer
  /connection timeout/, // a new connection got no answer to its start-up
  /^timeout exceeded when trying to connect/, // no pooled connection came free in time
];
/** How often an open breaker tries a connection of its own. */
const PROBE_EVERY_MS = 1000;

export interface PoolOptions extends pg.PoolConfig {
  /** Where a connection that broke (server restarted, crashed, network cut) is reported. */
  logger?: Logger;
  /**
   * How this pool parses column types: `numberTypes` unless given (every service reads its
   * counts and amounts as numbers); pass `pg.types` for the driver's strings.
   */
  types?: pg.CustomTypesConfig;
  /**
   * Plan every execution of a statement with its own parameters and the tables as they are
   * now (PostgreSQL's `plan_cache_mode = force_custom_plan`), for a pool whose statements find
   * rows by key in a table that starts empty and only grows. See `PLAN_EACH_EXECUTION`.
   */
  planEachExecution?: boolean;
}

/**
 * PostgreSQL plans a prepared statement's first five executions with their parameters, then
 * may keep a generic plan for the rest of the connection's life. One made while a table held a
 * page or two reads it whole (cheapest, at that size) instead of through its primary key, and
 * only an ANALYZE of the table makes the connection plan again: on a server without autovacuum
 * that never comes, and every execution scans a table that keeps growing. Measured on the saga
 * log with one client: a step write (its join to `sagas` by id) went from 1.3 to 4.5 ms over
 * 3,000 trips, and stayed at 1.4-1.6 ms with a plan per execution. Planning each time costs
 * the server some CPU on every statement; there it was within the run-to-run noise.
 */
const PLAN_EACH_EXECUTION = '-c plan_cache_mode=force_custom_plan';

/**
 * `connectionString` with `option` added to the server options pg would send without it: the
 * URL's `options` parameter, else the config's, else PGOPTIONS. pg takes the URL's over the
 * config's, so the URL is where the combination goes.
 */
function withServerOption(
  connectionString: string,
  configured: string | undefined,
  option: string,
): string {
  const url = new URL(connectionString);
  const current = url.searchParams.get('options') ?? configured ?? process.env.PGOPTIONS;
  url.searchParams.set('options', [current, option].filter(Boolean).join(' '));
  return url.toString();
}

export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const { logger, planEachExecution, ...config } = options;
  const pool = new pg.Pool({
    connectionString: planEachExecution
      ? withServerOption(connectionString, config.options, PLAN_EACH_EXECUTION)
      : connectionString,
    max: 10,
    connectionTimeoutMillis: 5000,
    query_timeout: QUERY_TIMEOUT_MS,
    // TCP keepalive on every connection: an idle pooled connection to a host that vanished is
    // found dead by the kernel instead of on the first query after it.
    keepAlive: true,
    types: numberTypes,
    ...config,
  });
  // A client whose server went away emits 'error'; with no listener that kills the process.
  // The pool listens only while a client is idle, so a client checked out by a request (in a
  // transaction, between two queries) would take the service down with it: every client gets
  // its own listener for its whole life. The broken client is discarded (the pool drops it on
  // release, withTransaction destroys it) and the next checkout connects afresh, so the error
  // only needs reporting; requests meanwhile fail as dependency-unavailable (503).
  pool.on('connect', (client) => {
    // One loss can arrive twice (the server's FATAL notice, then the socket closing): it is
    // one event to report, and the listener must stay for the second.
    let reported = false;
    client.on('error', (error) => {
      if (reported) return;
      reported = true;
      logger?.warn({ err: error }, 'PostgreSQL connection lost; the pool will reconnect');
    });
  });
  // An idle client's error is re-emitted here too; the client's own listener already logged it.
  pool.on('error', () => undefined);
  guardWithBreaker(pool, logger);
  return pool;
}

/**
 * A circuit breaker on the pool, for a server that stops answering with its sockets open
 * (frozen, swapped out, behind a partition that drops packets). The first request after that
 * waits out a timeout; without a breaker so would every later one, each holding a connection
 * or a place in the pool's queue. A query, connection or checkout timeout makes a probe
 * connection of the breaker's own, with short timeouts, ask whether the server answers; the
 * checkouts made meanwhile wait for its verdict (at most the probe's two timeouts) instead of
 * taking a connection to a server that may be away. No answer opens the breaker: checkouts
 * fail at once with PostgresNotAnswering (a 503), readiness says so, and the probe asks every
 * second; its first answer closes the breaker. An answer leaves it closed: a lock held long by
 * another transaction fails the queries that waited on it, never every request. A server that
 * refuses connections (stopped, restarting) fails fast anyway and opens nothing. Not opossum,
 * as the resilience lab's gateway uses: its half-open state lets one real request through,
 * which against a server still frozen waits out the full query timeout.
 */
function guardWithBreaker(pool: pg.Pool, logger: Logger | undefined): void {
  let open = false;
  // Set while a probe decides whether a timeout was a server away or a lock held long.
  let verdict: Promise<void> | undefined;
  // A pool being ended (shutdown) stops probing.
  const ended = () => pool.ending;
  /** One connection of the breaker's own, with short timeouts: does the server answer? */
  const answers = async (): Promise<boolean> => {
    const client = new pg.Client({
      ...pool.options,
      connectionTimeoutMillis: PROBE_EVERY_MS,
      query_timeout: PROBE_EVERY_MS,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const probe = async () => {
    while (open && !ended()) {
      // Unreferenced: an open breaker never keeps a stopping process alive.
      await sleep(PROBE_EVERY_MS, undefined, { ref: false });
      if (!(await answers())) continue; // still not answering: the next probe in a second
      open = false;
      logger?.warn('PostgreSQL answers again; the pool breaker is closed');
    }
  };
  const openBreaker = (error: Error) => {
    if (open || ended()) return;
    open = true;
    logger?.warn(
      { err: error },
      'PostgreSQL is not answering; the pool breaker is open: requests fail at once until a probe gets an answer',
    );
    void probe();
  };
  const trip = (error: unknown) => {
    if (open || verdict || ended() || !(error instanceof Error)) return;
    if (!MAY_BE_AWAY.some((pattern) => pattern.test(error.message))) return;
    // A server busy with a lock is not a server away: opening on it would refuse every
    // request, and report PostgreSQL down, because one row is locked. The request that timed
    // out still gets its 503 either way.
    verdict = answers().then((answered) => {
      verdict = undefined;
      if (!answered) openBreaker(error);
    });
  };
  // A query that timed out reaches here as the error its client was released with (pool.query
  // releases it so, withTransaction too); a connection that never came, from connect below.
  pool.on('release', (error: unknown) => {
    trip(error);
  });
  // pool.query checks out through pool.connect with a callback, so both forms are guarded.
  type ConnectCallback = (
    error: Error | undefined,
    client?: pg.PoolClient,
    done?: () => void,
  ) => void;
  const connectThen = pool.connect.bind(pool) as (callback: ConnectCallback) => void;
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
  function guarded(): Promise<pg.PoolClient>;
  function guarded(callback: ConnectCallback): undefined;
  function guarded(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    if (verdict) {
      // Decided within the probe's timeouts; then this checkout is refused or served as usual.
      if (!callback) return verdict.then(() => guarded());
      void verdict.then(() => {
        guarded(callback);
      });
      return undefined;
    }
    if (open) {
      const error = new PostgresNotAnswering();
      if (!callback) return Promise.reject(error);
      callback(error);
      return undefined;
    }
    if (callback) {
      connectThen((error, client, done) => {
        if (error) trip(error);
        callback(error, client, done);
      });
      return undefined;
    }
    return connect().catch((error: unknown) => {
      trip(error);
      throw error;
    });
  }
  pool.connect = guarded as typeof pool.connect;
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
  // Set when the connection itself failed: such a client must not go back to the pool, where
  // the next command would pick up a dead socket (or a transaction still open on the server).
  let broken: Error | undefined;
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (isDependencyUnavailable(error)) broken = error as Error;
    // A query that timed out is still the connection's active query: a ROLLBACK would queue
    // behind it and time out too. Closing the connection (release with the error) is the
    // rollback: the server aborts the transaction of a session that went away.
    if (!(error instanceof Error && error.message === QUERY_TIMED_OUT))
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken ??=
          rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
    throw error;
  } finally {
    client.release(broken);
  }
}

const MIGRATION_LOCK_WAIT_MS = 30_000;
const STARTUP_RETRY_FIRST_MS = 250;
const STARTUP_RETRY_MAX_MS = 5000;

/**
 * Runs `attempt` until PostgreSQL answers it. At start-up the database may not be reachable
 * yet (it boots after the service, or is restarting): the service waits for it, reporting each
 * try, instead of crashing. Any other error (bad SQL, a broken migration) is thrown at once.
 */
async function whenReachable<T>(
  what: string,
  logger: Logger | undefined,
  attempt: () => Promise<T>,
): Promise<T> {
  let delay = STARTUP_RETRY_FIRST_MS;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isDependencyUnavailable(error)) throw error;
      logger?.warn(
        { err: error, attempt: tries, retryInMs: delay },
        `PostgreSQL is not reachable yet (${what}); waiting for it`,
      );
      await sleep(delay);
      delay = Math.min(delay * 2, STARTUP_RETRY_MAX_MS);
    }
  }
}

/** A one-off connection that never outlives its work, and never crashes the process. */
async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  // The server can go away between connect and end; the failing query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates `database` on the server of `adminUrl` unless it exists; safe to race. Waits (and
 * logs each try at warn) while the server is not reachable yet.
 */
export async function ensureDatabase(
  adminUrl: string,
  database: string,
  options: { logger?: Logger } = {},
): Promise<void> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(database))
    throw new Error(`invalid database name: ${database}`);
  await whenReachable(`creating database ${database}`, options.logger, () =>
    withClient(adminUrl, async (client) => {
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
    }),
  );
}

/** Which of `databases` have a session connected to them now (a service, a psql), by name. */
export async function databasesInUse(adminUrl: string, databases: string[]): Promise<string[]> {
  const { rows } = await withClient(adminUrl, (client) =>
    client.query<{ datname: string }>(
      'SELECT DISTINCT datname FROM pg_stat_activity WHERE datname = ANY($1::text[]) ORDER BY 1',
      [databases],
    ),
  );
  return rows.map((row) => row.datname);
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  await withClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`),
  );
}

/**
 * Creates the service's database if needed and applies its versioned SQL migrations
 * (node-pg-migrate: one `.sql` file per version with `-- Up Migration` / `-- Down Migration`
 * sections, applied in order under an advisory lock, so replicas starting together migrate
 * once). Returns the names of the migrations applied now; none on a second run. While
 * PostgreSQL is not reachable yet it waits for it, logging each try at warn.
 */
export interface MigrateOptions {
  adminUrl: string;
  database: string;
  dir: string;
  logger?: Logger;
}

export async function migrate(options: MigrateOptions): Promise<string[]> {
  await ensureDatabase(options.adminUrl, options.database, { logger: options.logger });
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
  for (;;) {
    try {
      const applied = await whenReachable(`migrating ${options.database}`, options.logger, () =>
        // Our own client: the runner's own has no 'error' listener, so a connection lost
        // mid-migration would crash the process instead of failing the query, to be retried.
        withClient(databaseUrlFor(options.adminUrl, options.database), (dbClient) =>
          runner({
            dbClient,
            dir: options.dir,
            direction: 'up',
            migrationsTable: 'schema_migrations',
            checkOrder: true,
            log: (message) => options.logger?.debug({ migration: message }, 'migration'),
          }),
        ),
      );
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

/** A schema migrated while its service already listens (see migrateWhileListening). */
export interface SchemaWhileListening {
  /** Resolves once the schema is in place. */
  ready: Promise<void>;
  /** Whether it is in place now. */
  migrated: () => boolean;
  /** A readiness check that fails, saying why, until the schema is in place, then runs `check`. */
  readiness: (check: () => Promise<unknown>) => () => Promise<unknown>;
  /** Middleware in front of the routes that need the schema: 503 with Retry-After until then. */
  gate: (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
}

/**
 * `migrate`, without holding the service's port hostage to it. A service whose PostgreSQL is
 * away when it starts would otherwise not listen at all: a closed port looks like a dead
 * process to its callers and probes. Listening at once, it says why it cannot serve yet, as it
 * does for an outage later on: /readyz names postgres, and requests get 503 dependency-
 * unavailable with Retry-After, until the schema is in place. A migration that fails for any
 * other reason (broken SQL) stops the process, as it did before the service listened.
 */
export function migrateWhileListening(options: MigrateOptions): SchemaWhileListening {
  let migrated = false;
  const ready = migrate(options).then(
    () => {
      migrated = true;
    },
    (error: unknown) => {
      options.logger?.fatal({ err: error }, 'migration failed: stopping');
      process.exit(1);
    },
  );
  const why = () =>
    new Error(`the ${options.database} schema is not in place yet: PostgreSQL has not answered`);
  return {
    ready,
    migrated: () => migrated,
    readiness: (check) => () => (migrated ? check() : Promise.reject(why())),
    gate: (_req, _res, next) => {
      if (migrated) next();
      else next(dependencyUnavailable(why()));
    },
  };
}

export interface ListenOptions {
  connectionString: string;
  /** Channels to LISTEN on, e.g. the one an outbox trigger NOTIFYs at commit. */
  channels: string[];
  onNotification: (notification: pg.Notification) => void;
  /**
   * Called each time LISTEN is in place, the first time and after every reconnect.
   * PostgreSQL does not keep notifications for a session that is not listening, so whatever
   * was committed while the connection was down was never announced: the caller catches up
   * here (the relay, for instance, reads the outbox for rows it has not published).
   */
  onListening?: () => void;
  logger?: Logger;
}

export interface Listener {
  /** True while LISTEN is in place; false while reconnecting. */
  listening: () => boolean;
  close: () => Promise<void>;
}

const LISTEN_RETRY_FIRST_MS = 100;
const LISTEN_RETRY_MAX_MS = 5000;
/**
 * How long closing a LISTEN connection waits for the server to close its side. pg's end()
 * resolves only then, and a frozen server never does: a shutdown would hang on it for good.
 */
const LISTEN_CLOSE_WAIT_MS = 1000;

/** Ends a LISTEN connection, dropping its socket if the server does not answer in time. */
async function endListening(client: pg.Client): Promise<void> {
  const ended = client.end().catch(() => undefined);
  // Unreferenced: the wait alone never keeps a stopping process alive.
  await Promise.race([ended, sleep(LISTEN_CLOSE_WAIT_MS, undefined, { ref: false })]);
  // It has nothing to flush; a no-op once the server has closed it.
  client.connection.stream.destroy();
}

/**
 * A dedicated LISTEN connection that outlives PostgreSQL restarts: when it breaks it
 * reconnects with backoff, re-issues LISTEN and calls `onListening` so nothing committed in
 * between is missed. It never throws or crashes the process; it reports each loss at warn.
 */
export function listen(options: ListenOptions): Listener {
  const { logger } = options;
  let client: pg.Client | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = LISTEN_RETRY_FIRST_MS;

  const retry = (error: unknown) => {
    if (closed || timer) return;
    logger?.warn({ err: error, retryInMs: delay }, 'LISTEN connection lost; reconnecting');
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    delay = Math.min(delay * 2, LISTEN_RETRY_MAX_MS);
  };

  const connect = async () => {
    const next = new pg.Client({ connectionString: options.connectionString });
    next.on('notification', options.onNotification);
    // Once per connection: a broken socket can report more than one error, and each retry()
    // after the first timer fired would open one more LISTEN connection beside the next.
    const state = { gone: false };
    const lost = (error: unknown) => {
      if (state.gone) return;
      state.gone = true;
      if (client === next) client = undefined;
      next.removeAllListeners('end');
      void next.end().catch(() => undefined);
      retry(error);
    };
    next.on('error', lost);
    next.on('end', () => {
      lost(new Error('Connection terminated'));
    });
    try {
      await next.connect();
      for (const channel of options.channels)
        await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      lost(error);
      return;
    }
    // Broken between LISTEN's answer and here: its loss has already scheduled the next attempt,
    // and announcing it as listening would tell the caller it hears what it cannot.
    if (state.gone) return;
    if (closed) {
      await endListening(next);
      return;
    }
    client = next;
    delay = LISTEN_RETRY_FIRST_MS;
    options.onListening?.();
  };

  void connect();
  return {
    listening: () => client !== undefined,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      const current = client;
      client = undefined;
      if (!current) return;
      current.removeAllListeners('end');
      await endListening(current);
    },
  };
}
