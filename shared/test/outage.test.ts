import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import {
  KafkaJSConnectionError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDependencyUnavailable, neverConnected } from '../src/http/errors.ts';
import { createRedis } from '../src/redis.ts';
import {
  freePort,
  spawnService,
  startPrivatePostgres,
  startPrivateRedis,
  waitFor,
  type PrivatePostgres,
  type PrivateRedis,
  type SpawnedService,
} from '../src/testkit/index.ts';

/**
 * A service built from the shared pg, redis and http building blocks, with its PostgreSQL and
 * Redis (private instances, never the machine's shared ones) stopped and restarted under it.
 */
const entry = new URL('./fixtures/outage-service.ts', import.meta.url).pathname;
const START_BUDGET_MS = 60_000;

let postgres: PrivatePostgres;
let redis: PrivateRedis;
let service: SpawnedService;
// Whatever beforeAll got as far as starting, undone in reverse even when a step failed.
const cleanups: (() => unknown)[] = [];

async function call(method: string, path: string, body?: unknown, base = service.url) {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined && {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

/** What every request that needed the missing dependency must get: never a 500. */
function expectUnavailable(answer: Awaited<ReturnType<typeof call>>) {
  expect(answer.status).toBe(503);
  expect(answer.type).toMatch(/^application\/problem\+json/);
  expect(Number(answer.retryAfter)).toBeGreaterThan(0);
  expect(answer.body.code).toBe('dependency-unavailable');
}

async function readiness(base = service.url) {
  return (await fetch(`${base}/readyz`)).status;
}

/** Waits for the service to report ready by itself once its dependency is back. */
async function readyAgain(): Promise<void> {
  await waitFor('readiness to say 200 again', async () => (await readiness()) === 200, {
    timeoutMs: 20_000,
  });
}

/**
 * Lines that mean something went wrong beyond the outage itself: Node's crash on an 'error'
 * event nobody listens to, ioredis's complaint about one, and an error-level log line (the
 * logger writes level labels; the number is pino's default, kept for a logger that does not).
 */
const TROUBLE = /Unhandled 'error' event|Unhandled error event|"level":50|"level":"(error|fatal)"/;

let marks = 0;

/**
 * The service's log up to now. Lines travel through pipes and may reach the test after the
 * answer they were written before, so a check that a line is absent would pass too early: the
 * service writes a mark on stdout and on stderr, and the log counts once both are in.
 */
async function logSoFar(): Promise<string> {
  const mark = `outage-mark-${++marks}-end`;
  expect((await call('POST', `/log-mark?mark=${mark}`)).status).toBe(200);
  await waitFor(`the service's mark ${mark} on stdout and stderr`, () => {
    const seen = service.logs.filter((line) => line.includes(mark));
    return seen.length >= 2;
  });
  return service.logs.join('\n');
}

/** Backends of the service's transactions that hold a checked-out client right now. */
async function holdingTransactions(): Promise<number> {
  const client = new pg.Client({ connectionString: postgres.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = 'outage_service' AND state IN ('active', 'idle in transaction')
          AND (query LIKE '%pg_sleep%' OR query LIKE '%holding%')`,
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

describe('outage: a service built from the shared building blocks', () => {
  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    cleanups.push(() => {
      postgres.destroy();
    });
    redis = await startPrivateRedis();
    cleanups.push(() => redis.destroy());
    service = await spawnService({
      entry,
      env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url },
      timeoutMs: START_BUDGET_MS,
    });
    cleanups.push(() => service.stop());
  }, START_BUDGET_MS + 30_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it.each(['fast', 'immediate'] as const)(
    'When PostgreSQL stops (%s) under requests holding checked-out clients, then they and every request until it is back get 503 with Retry-After, readiness says 503, and it recovers by itself',
    async (mode) => {
      expect((await call('PUT', '/items/1', { name: 'before' })).status).toBe(200);
      const listeningBefore = (await call('GET', '/notifications')).body.listening as number;

      const held = [
        call('POST', '/hold?in=server&ms=20000'),
        call('POST', '/hold?in=service&ms=3000'),
      ];
      await waitFor(
        'both requests to hold a client',
        async () => (await holdingTransactions()) >= 2,
      );

      postgres.stop(mode);
      for (const answer of await Promise.all(held)) expectUnavailable(answer);
      expectUnavailable(await call('GET', '/items/1'));
      expectUnavailable(await call('PUT', '/items/2', { name: 'during' }));
      expect(await readiness()).toBe(503);
      expect(service.alive()).toBe(true);

      await postgres.start();
      await readyAgain();
      expect(await call('GET', '/items/1')).toMatchObject({
        status: 200,
        body: { name: 'before' },
      });
      expect((await call('PUT', '/items/2', { name: 'after' })).status).toBe(200);
      expect((await call('POST', '/hold?in=service&ms=0')).status).toBe(200);

      // The LISTEN connection came back on its own, announced it, and hears NOTIFY again.
      const { received } = (await call('GET', '/notifications')).body as { received: number };
      await waitFor('LISTEN to be re-issued', async () => {
        const now = (await call('GET', '/notifications')).body;
        return (now.listening as number) > listeningBefore;
      });
      let listeningAtWrite = (await call('GET', '/notifications')).body.listening as number;
      expect((await call('PUT', '/items/3', { name: 'heard' })).status).toBe(200);
      await waitFor('the NOTIFY after the restart to arrive', async () => {
        const now = (await call('GET', '/notifications')).body;
        if ((now.received as number) > received) return true;
        // LISTEN was re-issued after the write: PostgreSQL keeps no NOTIFY for a session that
        // was not listening (the listener's caller catches up in onListening), so write again.
        if ((now.listening as number) > listeningAtWrite) {
          listeningAtWrite = now.listening as number;
          expect((await call('PUT', '/items/3', { name: 'heard' })).status).toBe(200);
        }
        throw new Error(`no NOTIFY heard since the write: ${JSON.stringify(now)}`);
      });
      expect(service.alive()).toBe(true);
      expect(await logSoFar()).not.toMatch(TROUBLE);
    },
    60_000,
  );

  it('When Redis is killed and comes back empty, then requests get 503 meanwhile and a Lua script defined once works again without a restart', async () => {
    expect((await call('POST', '/counters/visits')).body.value).toBe(1);

    await redis.stop();
    expectUnavailable(await call('POST', '/counters/visits'));
    expect(await readiness()).toBe(503);
    expect(service.alive()).toBe(true);

    await redis.start();
    await readyAgain();
    // The new server is empty: the count starts over, and the script is loaded anew.
    expect(await call('POST', '/counters/visits')).toMatchObject({
      status: 200,
      body: { value: 1 },
    });
    expect(await logSoFar()).not.toMatch(TROUBLE);
  }, 60_000);

  it('When PostgreSQL stops answering (frozen, its sockets open), then the first request gets 503 once the query timeout passes, a probe gets no answer either and the pool breaker opens so the next wait only for that probe, not a timeout of their own, nothing is half-written, and the pool recovers after it thaws', async () => {
    expect((await call('PUT', '/items/10', { name: 'before' })).status).toBe(200);

    postgres.freeze();
    try {
      // It goes out on a pooled connection whose server no longer answers: without a query
      // timeout it would wait for as long as the socket lives.
      expectUnavailable(await call('GET', '/items/10'));
      // That timeout, and a probe that got no answer either, opened the pool's breaker: the
      // transaction waits for the probe's verdict, is refused before it takes a connection,
      // and readiness says why.
      expectUnavailable(await call('PUT', '/items/11', { name: 'during' }));
      const ready = await fetch(`${service.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('1');
      expect(((await ready.json()) as { checks: Record<string, string> }).checks.postgres).toMatch(
        /PostgreSQL stopped answering/,
      );
      expect(service.alive()).toBe(true);
    } finally {
      postgres.thaw();
    }

    await readyAgain();
    expect(await call('GET', '/items/10')).toMatchObject({ status: 200, body: { name: 'before' } });
    // The PUT answered 503 never committed: its connection was closed, and the thawed server
    // rolled back whatever it had received of that transaction.
    expect((await call('GET', '/items/11')).status).toBe(404);
    expect((await call('PUT', '/items/11', { name: 'after' })).status).toBe(200);
    expect(await logSoFar()).not.toMatch(TROUBLE);
  }, 60_000);

  it('When Redis stops answering (frozen), then a command gets 503 once the command timeout passes, and after it thaws the late command has run: a timeout says nothing about the outcome', async () => {
    const first = (await call('POST', '/counters/frozen')).body.value as number;

    redis.freeze();
    try {
      expectUnavailable(await call('POST', '/counters/frozen'));
      expect(await readiness()).toBe(503);
      expect(service.alive()).toBe(true);
    } finally {
      redis.thaw();
    }

    await readyAgain();
    // The INCR that timed out was in the server's socket buffer and ran when it resumed, so
    // the next one counts it too. Whatever a timed-out call does must be safe to do twice.
    expect((await call('POST', '/counters/frozen')).body.value).toBe(first + 2);
  }, 60_000);

  it('When PostgreSQL is not reachable at start-up, then the service waits for it and becomes ready once it is', async () => {
    // Only the service under test may knock on the port below: the other one goes first.
    await service.stop();
    postgres.stop('fast');
    // Something on the port that hangs up on every connection, as a server not yet accepting
    // does; it counts the service's attempts, so the test knows the service is waiting.
    const attempts: Socket[] = [];
    const impostor = createServer((socket) => {
      attempts.push(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => impostor.listen(postgres.port, '127.0.0.1', resolve));
    let late: SpawnedService | undefined;
    try {
      const starting = spawnService({
        entry,
        env: { DATABASE_URL: postgres.url, DATABASE_NAME: 'late_service', REDIS_URL: redis.url },
        timeoutMs: START_BUDGET_MS,
      });
      starting.catch(() => undefined);
      await waitFor('the service to try PostgreSQL twice', () => attempts.length >= 2, {
        timeoutMs: 30_000,
      });
      await new Promise((resolve) => impostor.close(resolve));
      await postgres.start();
      late = await starting;
      expect(
        late.logs.filter((line) => line.includes('not reachable yet')).length,
      ).toBeGreaterThanOrEqual(2);
      expect((await call('PUT', '/items/7', { name: 'late' }, late.url)).status).toBe(200);
      expect(await readiness(late.url)).toBe(200);
    } finally {
      impostor.close();
      await late?.stop();
    }
  }, 90_000);
});

/** The error `work` fails with; a test that expected one and got none fails here. */
async function failureOf(work: () => Promise<unknown>): Promise<unknown> {
  const outcome = await work().then(
    () => ({ failed: false as const }),
    (error: unknown) => ({ failed: true as const, error }),
  );
  if (!outcome.failed) throw new Error('expected a failure');
  return outcome.error;
}

/**
 * What pg.Client#connect fails with when nothing listens on the port (refused) and when a
 * server accepts the connection and hangs up at once (terminated).
 */
async function pgConnectFailures(): Promise<{ refused: unknown; terminated: unknown }> {
  const connect = (port: number) =>
    failureOf(async () => {
      const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
      await client.connect();
    });
  const refused = await connect(await freePort());
  const hangUp = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
  try {
    const terminated = await connect((hangUp.address() as { port: number }).port);
    return { refused, terminated };
  } finally {
    hangUp.close();
  }
}

describe('isDependencyUnavailable: driver errors an outage produces', () => {
  it('When pg cannot connect (nothing listening, or a server that hangs up), then it is unavailable', async () => {
    const { refused, terminated } = await pgConnectFailures();

    expect(isDependencyUnavailable(refused)).toBe(true);
    expect(String(terminated)).toMatch(/Connection terminated/);
    expect(isDependencyUnavailable(terminated)).toBe(true);
  });

  it('When nothing listens, then the connection was never made; when the server hangs up on it, it was (unavailable either way)', async () => {
    const { refused, terminated } = await pgConnectFailures();

    expect(neverConnected(refused)).toBe(true);
    expect(neverConnected(terminated)).toBe(false);
    expect(isDependencyUnavailable(terminated)).toBe(true);
  });

  it('When PostgreSQL reports it is shutting down or starting, then it is unavailable; when it rejects the query, it is not', () => {
    const fromServer = (code: string, message: string) =>
      Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });
    expect(
      isDependencyUnavailable(
        fromServer('57P01', 'terminating connection due to administrator command'),
      ),
    ).toBe(true);
    expect(isDependencyUnavailable(fromServer('57P03', 'the database system is starting up'))).toBe(
      true,
    );
    expect(
      isDependencyUnavailable(
        fromServer('23505', 'duplicate key value violates unique constraint'),
      ),
    ).toBe(false);
    expect(
      isDependencyUnavailable(fromServer('57014', 'canceling statement due to statement timeout')),
    ).toBe(false);
  });

  it('When ioredis is disconnected (refused at once, given up on while reconnecting, closed) or Redis is loading, then it is unavailable; a script error is not', async () => {
    const port = await freePort();
    const offline = new Redis(`redis://127.0.0.1:${port}`, {
      enableOfflineQueue: false,
      retryStrategy: () => 1000,
      lazyConnect: true,
    });
    offline.on('error', () => undefined);
    const refused = await failureOf(() => offline.get('k'));
    expect(String(refused)).toMatch(/enableOfflineQueue/);
    expect(isDependencyUnavailable(refused)).toBe(true);
    offline.disconnect();

    const retrying = new Redis(`redis://127.0.0.1:${port}`, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => 1000,
    });
    retrying.on('error', () => undefined);
    const givenUp = await failureOf(() => retrying.get('k'));
    expect((givenUp as Error).name).toBe('MaxRetriesPerRequestError');
    expect(isDependencyUnavailable(givenUp)).toBe(true);
    retrying.disconnect();

    const ended = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true });
    ended.disconnect();
    const closed = await failureOf(() => ended.get('k'));
    expect(String(closed)).toMatch(/Connection is closed/);
    expect(isDependencyUnavailable(closed)).toBe(true);

    // Real reply errors, made by the shared Redis itself (a script that touches no key).
    const shared = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      const loading = await failureOf(() =>
        shared.eval("return redis.error_reply('LOADING Redis is loading the dataset')", 0),
      );
      expect(isDependencyUnavailable(loading)).toBe(true);
      const scriptBug = await failureOf(() => shared.eval("return redis.call('NOSUCHCMD')", 0));
      expect(isDependencyUnavailable(scriptBug)).toBe(false);
    } finally {
      shared.disconnect();
    }
  });

  it('When kafkajs gives up on an unreachable broker, one without a leader yet or one it never finished connecting to, then it is unavailable; an authorization refusal is not', () => {
    // kafkajs's declared constructor types omit the options its errors are built with.
    const make = (Class: unknown, ...args: unknown[]) =>
      Reflect.construct(Class as new (...params: unknown[]) => Error, args);
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    expect(
      isDependencyUnavailable(make(KafkaJSNonRetriableError, refused, { cause: refused })),
    ).toBe(true);
    expect(
      isDependencyUnavailable(
        make(KafkaJSNumberOfRetriesExceeded, refused, { retryCount: 8, retryTime: 1000 }),
      ),
    ).toBe(true);
    expect(isDependencyUnavailable(make(KafkaJSGroupCoordinatorNotFound, 'no coordinator'))).toBe(
      true,
    );
    const protocol = (type: string, retriable: boolean) =>
      make(
        KafkaJSProtocolError,
        Object.assign(new Error(`broker says ${type}`), { type, code: 5, retriable }),
      );
    expect(isDependencyUnavailable(protocol('LEADER_NOT_AVAILABLE', true))).toBe(true);
    expect(isDependencyUnavailable(protocol('NOT_COORDINATOR_FOR_GROUP', true))).toBe(true);
    expect(isDependencyUnavailable(protocol('TOPIC_AUTHORIZATION_FAILED', false))).toBe(false);
    // What kafkajs's Broker throws (src/broker/index.js) for a request on a connection to a
    // frozen broker that never completed.
    expect(isDependencyUnavailable(new Error('Broker not connected'))).toBe(true);
  });

  it('When every address of a host refuses, then it is unavailable; a bug is never', () => {
    const refusedAt = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    expect(
      isDependencyUnavailable(
        new AggregateError([refusedAt('::1:5432'), refusedAt('127.0.0.1:5432')]),
      ),
    ).toBe(true);
    expect(
      isDependencyUnavailable(new AggregateError([refusedAt('::1:5432'), new TypeError('bug')])),
    ).toBe(false);
    expect(isDependencyUnavailable(new TypeError('Cannot read properties of undefined'))).toBe(
      false,
    );
    expect(isDependencyUnavailable(new Error('Connection string is invalid'))).toBe(false);
  });
});

describe('createRedis before its first connection', () => {
  it('When a command is issued the moment the client is created, then it waits for the connection instead of being refused', async () => {
    const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('When Redis is not there at start-up, then a command fails after that one attempt, as dependency-unavailable', async () => {
    const redis = createRedis(`redis://127.0.0.1:${await freePort()}`);
    try {
      expect(isDependencyUnavailable(await failureOf(() => redis.ping()))).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
