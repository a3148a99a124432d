/**
 * The saga against PostgreSQL that goes away under load, on PRIVATE servers (the machine's
 * shared one is never touched): one for the orchestrator's saga log, one for the four
 * participants, so that a participant's database can be down while the saga log is up. A
 * database that is unreachable for a while is a transient failure: no trip may be compensated
 * for it, no compensation may get stuck on it, and a client may see 503 + Retry-After while it
 * lasts, never a 500.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { startPrivatePostgres, waitFor, type PrivatePostgres } from '@lab/shared/testkit';
import { auditSaga } from '../src/audit.ts';
import {
  bookTrip,
  chaos,
  createInventory,
  getTrip,
  inventory,
  tripRequest,
  TERMINAL,
  waitForStatus,
  type Trip,
} from '../src/client.ts';
import { startSagaLab, uniqueDatabases, type SagaLab, type ServiceName } from '../src/services.ts';

const TRIPS = 80;
const ROOMS = 60;
const CLIENTS = 10;

const MAX_ATTEMPTS = 3;
const STUCK_AFTER = 3;

/** The participants' server and the saga log's server. */
let server: PrivatePostgres;
let logServer: PrivatePostgres;
let lab: SagaLab;

/**
 * The private clusters run with synchronous_commit off for speed. An `immediate` stop is a
 * crash, and a crash may lose commits that were not flushed yet: a participant would forget a
 * reservation it had acknowledged. Production runs with it on, and so does this test (a role
 * setting outranks the server's command line).
 */
async function durableCommits(url: string) {
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => undefined);
  await admin.connect();
  await admin.query('ALTER ROLE postgres SET synchronous_commit = on');
  await admin.end();
}

beforeAll(async () => {
  [server, logServer] = await Promise.all([startPrivatePostgres(), startPrivatePostgres()]);
  await Promise.all([durableCommits(server.url), durableCommits(logServer.url)]);
  lab = await startSagaLab({
    databases: uniqueDatabases('pgrestart'),
    env: { DATABASE_URL: server.url },
    // Retry limits below the defaults, so an outage that used them up would show; the attempt
    // timeout is above it, so a slow answer on a loaded machine is not mistaken for a failure.
    orchestratorEnv: {
      DATABASE_URL: logServer.url,
      STEP_TIMEOUT_MS: '3000',
      STEP_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      COMPENSATION_STUCK_AFTER: String(STUCK_AFTER),
      RETRY_MAX_MS: '300',
    },
  });
}, 180_000);
afterAll(async () => {
  try {
    // Unset when the set-up failed before it (a cluster that did start is destroyed below, or
    // at the latest when this process exits).
    await (lab as SagaLab | undefined)?.stop();
  } finally {
    // Also when the lab never started: the clusters and their files go in any case.
    (server as PrivatePostgres | undefined)?.destroy();
    (logServer as PrivatePostgres | undefined)?.destroy();
  }
});

interface Seen {
  status: number | 'network-error';
  retryAfter: string | null;
  contentType: string | null;
  /** The problem document's code, for a problem+json answer. */
  code?: unknown;
}

/** One request, remembered: what a client saw matters as much as what the saga did. */
async function observe(seen: Seen[], url: string, init?: RequestInit) {
  try {
    const res = await fetch(url, init);
    const contentType = res.headers.get('content-type');
    seen.push({
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      contentType,
      // A clone: the caller still reads the answer's body.
      ...(contentType?.includes('problem+json') && {
        code: ((await res.clone().json()) as { code?: unknown }).code,
      }),
    });
    return res;
  } catch {
    seen.push({ status: 'network-error', retryAfter: null, contentType: null });
    return undefined;
  }
}

const problem = expect.objectContaining({
  status: 503,
  code: 'dependency-unavailable',
  retryAfter: expect.stringMatching(/^\d+$/) as unknown,
  contentType: expect.stringContaining('application/problem+json') as unknown,
}) as unknown;

/** While the server is down: every service says so on /readyz, and the API answers 503. */
async function probeOutage(acceptedTrip: string): Promise<Seen[]> {
  for (const name of Object.keys(lab.urls) as ServiceName[]) {
    const res = await fetch(`${lab.urls[name]}/readyz`);
    expect(res.status, `${name} /readyz while PostgreSQL is down`).toBe(503);
  }
  const seen: Seen[] = [];
  const body = JSON.stringify(tripRequest(stockIds, { customerId: 'probe' }));
  await observe(seen, `${lab.urls.orchestrator}/trips`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `probe-${Date.now()}` },
    body,
  });
  await observe(seen, `${lab.urls.orchestrator}/trips/${acceptedTrip}`);
  await observe(seen, `${lab.urls.hotels}/inventory/${stockIds.hotel}`);
  return seen;
}

let stockIds: { flight: string; hotel: string; car: string };

test(
  'When PostgreSQL restarts (fast, then immediate) while trips are booked, then every accepted trip ends COMPLETED or sold-out COMPENSATED and verify passes',
  { timeout: 240_000 },
  async () => {
    // Arrange: rooms for ROOMS of the TRIPS trips, so compensations run across the outages too
    stockIds = {
      flight: await createInventory(lab.urls.flights, TRIPS),
      hotel: await createInventory(lab.urls.hotels, ROOMS),
      car: await createInventory(lab.urls.cars, TRIPS),
    };
    const accepted: string[] = [];
    const seen: Seen[] = [];

    // Act: CLIENTS clients book the TRIPS trips, retrying a 503 with the same key
    const book = async (i: number) => {
      const body = JSON.stringify(
        tripRequest(stockIds, { customerId: `c${i}`, amountCents: 1000 }),
      );
      accepted.push(
        await waitFor(
          `trip c${i} to be accepted`,
          async () => {
            const res = await observe(seen, `${lab.urls.orchestrator}/trips`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'idempotency-key': `c${i}` },
              body,
            });
            if (res?.status !== 202) return undefined;
            return ((await res.json()) as { tripId: string }).tripId;
          },
          { timeoutMs: 60_000, intervalMs: 100 },
        ),
      );
    };
    let next = 0;
    const client = Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < TRIPS) await book(next++);
      }),
    );
    const outages: Seen[] = [];
    for (const [mode, after] of [
      ['fast', 20],
      ['immediate', 50],
    ] as const) {
      await waitFor(`${after} trips accepted`, () => accepted.length >= after, {
        timeoutMs: 60_000,
      });
      // One restart of "the database": both servers at once, as if they were one.
      server.stop(mode);
      logServer.stop(mode);
      outages.push(...(await probeOutage(accepted[0]!)));
      await Promise.all([server.start(), logServer.start()]);
    }
    await client;

    const trips = await waitFor(
      `all ${TRIPS} trips to be terminal`,
      async () => {
        const all = await Promise.all(accepted.map((id) => getTrip(lab.urls.orchestrator, id)));
        return all.every((trip) => TERMINAL.includes(trip.status)) ? all : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );

    // Assert: what the client saw
    expect(outages.length).toBeGreaterThan(0);
    for (const answer of outages) expect(answer).toEqual(problem);
    expect(seen.filter((answer) => answer.status !== 202)).toEqual(
      seen.filter((answer) => answer.status !== 202).map(() => problem),
    );
    // Assert: what the saga did
    const byStatus = (status: string) => trips.filter((trip: Trip) => trip.status === status);
    expect(accepted.length).toBe(TRIPS);
    expect(new Set(accepted).size).toBe(TRIPS);
    expect(byStatus('COMPLETED').length).toBe(ROOMS);
    expect(byStatus('COMPENSATED').map((trip) => trip.failureReason)).toEqual(
      Array.from({ length: TRIPS - ROOMS }, () => expect.stringContaining('sold-out') as unknown),
    );
    expect(await auditSaga(server.url, lab.databases, logServer.url)).toEqual([]);
    for (const [name, service] of Object.entries(lab.services))
      expect(service.alive(), `${name} is still running`).toBe(true);
    for (const name of Object.keys(lab.urls) as ServiceName[])
      expect((await fetch(`${lab.urls[name]}/readyz`)).status, `${name} /readyz`).toBe(200);
  },
);

test(
  "When the participants' database is down longer than the retry limits, then steps and compensations wait for it instead of compensating or getting STUCK",
  { timeout: 120_000 },
  async () => {
    // Arrange: trip Y is rejected at the hotel and its first cancel-flight hangs, so its
    // compensation is under way when the database goes; trip Z is booked during the outage
    const stock = {
      flight: await createInventory(lab.urls.flights, 5),
      hotel: await createInventory(lab.urls.hotels, 5),
      car: await createInventory(lab.urls.cars, 5),
    };
    await chaos(lab.urls.hotels, { target: 'action', faults: { reject: 1 }, next: 1 });
    await chaos(lab.urls.flights, { target: 'compensation', faults: { hang: 1 }, next: 1 });
    const y = await bookTrip(lab.urls.orchestrator, tripRequest(stock, { customerId: 'y' }));
    await waitFor('cancel-flight of Y to be under way', async () => {
      const trip = await getTrip(lab.urls.orchestrator, y);
      return trip.timeline.find((step) => step.name === 'cancel-flight')?.state === 'RUNNING';
    });

    // Act: the participants' database goes away; the saga log stays up
    server.stop('fast');
    const z = await bookTrip(lab.urls.orchestrator, tripRequest(stock, { customerId: 'z' }));
    const attemptsOf = async (id: string, name: string) =>
      (await getTrip(lab.urls.orchestrator, id)).timeline.find((step) => step.name === name);
    // Held down until both have been tried more often than their limits allow
    const [cancelFlight, reserveFlight] = await waitFor(
      'retries past the limits while the database is down',
      async () => {
        const both = await Promise.all([
          attemptsOf(y, 'cancel-flight'),
          attemptsOf(z, 'reserve-flight'),
        ]);
        return (both[0]?.attempts ?? 0) > STUCK_AFTER + 1 &&
          (both[1]?.attempts ?? 0) > MAX_ATTEMPTS + 1
          ? both
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const participantReady = await fetch(`${lab.urls.flights}/readyz`);
    const orchestratorReady = await fetch(`${lab.urls.orchestrator}/readyz`);
    const inventoryRead = await fetch(`${lab.urls.hotels}/inventory/${stock.hotel}`);
    await server.start();
    const [tripY, tripZ] = await Promise.all([
      waitForStatus(lab.urls.orchestrator, y, TERMINAL, 60_000),
      waitForStatus(lab.urls.orchestrator, z, TERMINAL, 60_000),
    ]);

    // Assert: while down, the participants said so and the orchestrator kept waiting
    expect(cancelFlight?.lastError).toContain('dependency-unavailable');
    expect(reserveFlight?.lastError).toContain('dependency-unavailable');
    expect(participantReady.status).toBe(503);
    expect(orchestratorReady.status).toBe(200);
    expect(inventoryRead.status).toBe(503);
    expect(inventoryRead.headers.get('retry-after')).toMatch(/^\d+$/);
    // Assert: once back, Y finished its compensation and Z was booked, nothing else
    expect(tripY.status).toBe('COMPENSATED');
    expect(tripY.failureReason).toContain('chaos-rejected');
    expect(tripZ.status).toBe('COMPLETED');
    expect(await inventory(lab.urls.flights, stock.flight)).toMatchObject({
      held: 0,
      confirmed: 1,
    });
    expect(await auditSaga(server.url, lab.databases, logServer.url)).toEqual([]);
  },
);

test('When the saga log goes away while POST /trips waits on a trip it has committed, then the answer is still its 202, not a 503 that invites a second booking', async () => {
  // Arrange: the trip's first hold hangs, so it is still running when the wait ends
  const stock = {
    flight: await createInventory(lab.urls.flights, 5),
    hotel: await createInventory(lab.urls.hotels, 5),
    car: await createInventory(lab.urls.cars, 5),
  };
  await chaos(lab.urls.flights, { target: 'action', faults: { hang: 1 }, next: 1 });
  const answering = fetch(`${lab.urls.orchestrator}/trips`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'wait=2' },
    body: JSON.stringify(tripRequest(stock, { customerId: 'waits' })),
  });
  // The hang is taken by the trip's first call, which only a committed saga makes.
  await waitFor('the trip to reach flights', async () => {
    const res = await fetch(`${lab.urls.flights}/_chaos`);
    return ((await res.json()) as { rules: { action: unknown } }).rules.action === null;
  });

  // Act
  logServer.stop('fast');
  let answer: Response;
  try {
    answer = await answering;
  } finally {
    await logServer.start();
  }

  // Assert: the trip the client was promised, which then runs to its end
  expect(answer.status).toBe(202);
  const { tripId, status } = (await answer.json()) as { tripId: string; status: string };
  expect(status).toBe('PENDING');
  expect((await waitForStatus(lab.urls.orchestrator, tripId, TERMINAL, 60_000)).status).toBe(
    'COMPLETED',
  );
});

test('When SIGTERM arrives while both databases are down, then every service stops and exits 0', async () => {
  // Arrange: a trip in flight (its first flight hold hangs) when both databases go away
  const stock = {
    flight: await createInventory(lab.urls.flights, 5),
    hotel: await createInventory(lab.urls.hotels, 5),
    car: await createInventory(lab.urls.cars, 5),
  };
  await chaos(lab.urls.flights, { target: 'action', faults: { hang: 1 }, next: 1 });
  await bookTrip(lab.urls.orchestrator, tripRequest(stock, { customerId: 'sigterm' }));
  server.stop('fast');
  logServer.stop('fast');
  await waitFor('every service to report its database down', async () => {
    const ready = await Promise.all(
      Object.values(lab.urls).map(async (url) => (await fetch(`${url}/readyz`)).status),
    );
    return ready.every((status) => status === 503);
  });

  // Act: the operator stops the lab during the outage
  const exits: Record<string, number | null> = {};
  await Promise.all(
    Object.entries(lab.services).map(async ([name, service]) => {
      exits[name] = await service.stop();
    }),
  );

  // Assert
  expect(exits).toEqual({ orchestrator: 0, flights: 0, hotels: 0, cars: 0, payments: 0 });
});
