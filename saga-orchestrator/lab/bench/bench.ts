/**
 * `pnpm lab saga bench`: what durability costs and how fast a crash heals, on this machine.
 * - throughput and latency of completed trips: 20 closed-loop clients, each booking a trip and
 *   waiting until it is terminal before booking the next, against a baseline in the same run
 *   that makes the same seven participant calls directly, with no orchestrator or saga log;
 * - orchestrator overhead per step: trip latency minus the participants' own handling time
 *   (their Server-Timing), divided by the seven steps; once with a single client, where it is
 *   the orchestrator's own cost, and once under the 20-client load, where it includes queueing;
 * - recovery: 1,000 trips accepted and each waiting on its first participant call, SIGKILL,
 *   restart; time until all are terminal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { databaseUrlFor, dropDatabase } from '@lab/shared/pg';
import { percentile } from '@lab/shared/testkit';
import {
  bookTrip,
  chaos,
  clearChaos,
  createStock,
  tripRequest,
  TERMINAL,
  type Stock,
} from '../src/client.ts';
import { startSagaLab, uniqueDatabases, type SagaLab } from '../src/services.ts';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TRIPS = Number(process.env.BENCH_TRIPS ?? 300);
const SOLO_TRIPS = Number(process.env.BENCH_SOLO_TRIPS ?? 50);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 1000);
const CONCURRENCY = 20;
const STEPS = 7;

const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const say = (line: string) => process.stdout.write(`bench: ${line}\n`);

async function closedLoop<T>(count: number, clients: number, work: (i: number) => Promise<T>) {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

/**
 * Tells clients when their trip is terminal by reading the saga log directly, one query for
 * every waiting client every few milliseconds, so waiting adds no HTTP load to the orchestrator.
 */
function terminalWatcher(db: pg.Client) {
  const waiting = new Map<string, () => void>();
  const state = { running: true };
  const loop = (async () => {
    while (state.running) {
      if (waiting.size > 0) {
        const { rows } = await db.query<{ id: string }>(
          'SELECT id FROM sagas WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])',
          [[...waiting.keys()], TERMINAL],
        );
        for (const { id } of rows) {
          waiting.get(id)?.();
          waiting.delete(id);
        }
      }
      await sleep(3);
    }
  })();
  return {
    until: (id: string) => new Promise<void>((resolve) => waiting.set(id, resolve)),
    stop: async () => {
      state.running = false;
      await loop;
    },
  };
}

/** Waits until `total` sagas are terminal; returns how many were, so an overloaded run still reports. */
async function untilTerminal(db: pg.Client, total: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sagas WHERE status = ANY($1::text[])`,
      [TERMINAL],
    );
    const terminal = rows[0]?.n ?? 0;
    if (terminal >= total || Date.now() > deadline) return terminal;
    await sleep(25);
  }
}

/** The same seven calls without an orchestrator: what the participants alone cost. */
async function directTrip(lab: SagaLab, stock: Stock, id: string): Promise<number> {
  const started = performance.now();
  const call = async (base: string, path: string, body: object = {}) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `${id}:${path}` },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
  };
  await call(lab.urls.flights, '/reservations', { reservationId: id, inventoryId: stock.flight });
  await call(lab.urls.hotels, '/reservations', { reservationId: id, inventoryId: stock.hotel });
  await call(lab.urls.cars, '/reservations', { reservationId: id, inventoryId: stock.car });
  await call(lab.urls.payments, '/charges', { chargeId: id, cardToken: 'bench', amountCents: 1 });
  for (const base of [lab.urls.flights, lab.urls.hotels, lab.urls.cars])
    await call(base, `/reservations/${id}/confirm`);
  return performance.now() - started;
}

interface Timed {
  latency: number;
  overheadPerStep: number;
}

/** Latency and overhead of the given trips, from the saga log's own clock. */
async function timings(db: pg.Client, ids: string[]): Promise<Timed[]> {
  const { rows } = await db.query<{ latency: number; participant: number }>(
    // float8: a plain pg.Client hands NUMERIC and BIGINT back as strings.
    `SELECT (extract(epoch FROM finished_at - created_at) * 1000)::float8 AS latency,
            participant_ms::float8 AS participant
       FROM sagas WHERE id = ANY($1::uuid[]) AND status = 'COMPLETED'`,
    [ids],
  );
  return rows.map((row) => ({
    latency: row.latency,
    overheadPerStep: (row.latency - row.participant) / STEPS,
  }));
}

async function statusCounts(db: pg.Client) {
  const { rows } = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM sagas GROUP BY status',
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

export async function bench(): Promise<void> {
  const databases = uniqueDatabases('bench');
  // Generous step budgets: a slow answer under load should show as latency, not as a
  // compensated trip.
  const lab = await startSagaLab({
    databases,
    env: { DB_POOL_SIZE: '20' },
    orchestratorEnv: {
      STEP_TIMEOUT_MS: '30000',
      STEP_DEADLINE_MS: '120000',
      SAGA_DEADLINE_MS: '600000',
      LOG_LEVEL: 'info',
    },
  });
  const db = new pg.Client({ connectionString: databaseUrlFor(adminUrl, databases.orchestrator) });
  await db.connect();
  const watcher = terminalWatcher(db);
  try {
    const stock = await createStock(lab.urls, 1_000_000);
    const trip = async () => {
      const id = await bookTrip(lab.urls.orchestrator, tripRequest(stock));
      await watcher.until(id);
      return id;
    };
    say('warm-up: 20 trips');
    await closedLoop(20, 4, trip);

    say(`baseline: ${TRIPS} direct call chains, ${CONCURRENCY} clients`);
    const baseStart = performance.now();
    const direct = await closedLoop(TRIPS, CONCURRENCY, (i) =>
      directTrip(lab, stock, `direct-${i}`),
    );
    const baseSeconds = (performance.now() - baseStart) / 1000;

    say(`saga: ${TRIPS} trips through the orchestrator, ${CONCURRENCY} clients`);
    const sagaStart = performance.now();
    const loadedIds = await closedLoop(TRIPS, CONCURRENCY, trip);
    const sagaSeconds = (performance.now() - sagaStart) / 1000;
    const loaded = await timings(db, loadedIds);

    say(`overhead: ${SOLO_TRIPS} trips, one client`);
    const solo = await timings(db, await closedLoop(SOLO_TRIPS, 1, trip));
    const happyPathOutcome = await statusCounts(db);

    say(`recovery: ${IN_FLIGHT} trips in flight, SIGKILL, restart`);
    await db.query('TRUNCATE saga_steps, sagas');
    // Every trip's first call hangs, so all of them are accepted, logged and mid-step when the
    // orchestrator dies: the most work a restart can find.
    await chaos(lab.urls.flights, { target: 'action', faults: { hang: 1 } });
    await closedLoop(IN_FLIGHT, CONCURRENCY, () =>
      bookTrip(lab.urls.orchestrator, tripRequest(stock)),
    );
    await lab.services.orchestrator?.kill();
    await clearChaos(lab.urls.flights);
    const { rows: left } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sagas WHERE NOT (status = ANY($1::text[]))`,
      [TERMINAL],
    );
    const restartAt = performance.now();
    await lab.startOrchestrator();
    const recovered = await untilTerminal(db, IN_FLIGHT, 300_000);
    const recoverySeconds = (performance.now() - restartAt) / 1000;
    const recoveryOutcome = await statusCounts(db);

    const tripsPerSecond = loaded.length / sagaSeconds;
    const baselinePerSecond = TRIPS / baseSeconds;
    const stats = (values: number[]) => ({
      p50: round(percentile(values, 50) ?? 0),
      p99: round(percentile(values, 99) ?? 0),
    });
    const results = {
      generatedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      trips: TRIPS,
      concurrency: CONCURRENCY,
      completedTripsPerSecond: round(tripsPerSecond),
      baselineDirectChainsPerSecond: round(baselinePerSecond),
      tripLatencyMs: stats(loaded.map((t) => t.latency)),
      baselineLatencyMs: stats(direct),
      overheadPerStepMs: {
        oneClient: stats(solo.map((t) => t.overheadPerStep)),
        underLoad: stats(loaded.map((t) => t.overheadPerStep)),
      },
      soloTripLatencyMs: stats(solo.map((t) => t.latency)),
      happyPathOutcome,
      recovery: {
        inFlightAtKill: left[0]?.n ?? 0,
        terminalAfterRestart: recovered,
        outcome: recoveryOutcome,
        secondsToAllTerminal: round(recoverySeconds),
        tripsPerSecond: round(recovered / recoverySeconds),
      },
    };
    const overhead = results.overheadPerStepMs;
    const table: [string, number, number | undefined, string, boolean | undefined][] = [
      [
        'completed trips/s (20 clients)',
        results.completedTripsPerSecond,
        results.baselineDirectChainsPerSecond,
        '≥ 300',
        tripsPerSecond >= 300,
      ],
      [
        'trip latency p50 (ms, 20 clients)',
        results.tripLatencyMs.p50,
        results.baselineLatencyMs.p50,
        '',
        undefined,
      ],
      [
        'trip latency p99 (ms, 20 clients)',
        results.tripLatencyMs.p99,
        results.baselineLatencyMs.p99,
        '',
        undefined,
      ],
      [
        'overhead per step p50 (ms, one client)',
        overhead.oneClient.p50,
        undefined,
        '≤ 1',
        overhead.oneClient.p50 <= 1,
      ],
      ['overhead per step p99 (ms, one client)', overhead.oneClient.p99, undefined, '', undefined],
      [
        'overhead per step p50 (ms, 20 clients)',
        overhead.underLoad.p50,
        undefined,
        '≤ 1',
        overhead.underLoad.p50 <= 1,
      ],
      ['overhead per step p99 (ms, 20 clients)', overhead.underLoad.p99, undefined, '', undefined],
      [
        `recovery of ${results.recovery.inFlightAtKill} in-flight trips (s)`,
        results.recovery.secondsToAllTerminal,
        undefined,
        '≤ 10',
        recovered >= IN_FLIGHT && recoverySeconds <= 10,
      ],
    ];
    const lines = [
      '## Saga lab',
      '',
      `Run on ${results.generatedAt}, ${results.machine.cpus} CPUs, Node ${process.version}; five services and PostgreSQL share the machine with the load generator.`,
      '',
      `- Throughput and latency: ${TRIPS} happy-path trips from ${CONCURRENCY} closed-loop clients (each waits until its trip is terminal). Baseline: the same seven participant calls made directly by ${CONCURRENCY} clients, without orchestrator or saga log.`,
      `- Overhead per step: (trip latency − participants' Server-Timing) / ${STEPS}, from the saga log's timestamps; with one client (${SOLO_TRIPS} trips, trip latency p50 ${results.soloTripLatencyMs.p50} ms) and under the ${CONCURRENCY}-client load, where it includes time queued for the database and the CPU.`,
      `- Recovery: ${IN_FLIGHT} trips accepted while every first call hung, orchestrator SIGKILLed, restarted; ${recovered}/${IN_FLIGHT} terminal (${JSON.stringify(recoveryOutcome)}) at ${results.recovery.tripsPerSecond} trips/s.`,
      `- Happy-path outcome: ${JSON.stringify(happyPathOutcome)}.`,
      '',
      '| metric | value | baseline | ratio | target | met? |',
      '| --- | --- | --- | --- | --- | --- |',
      ...table.map(
        ([metric, value, baseline, target, met]) =>
          `| ${metric} | ${value} | ${baseline ?? '-'} | ${baseline ? round(value / baseline) : '-'} | ${target || '-'} | ${met === undefined ? '-' : met ? 'yes' : 'no'} |`,
      ),
      '',
    ];
    const out = import.meta.dirname;
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, 'REPORT.md'), lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await watcher.stop();
    await db.end();
    await lab.stop();
    for (const name of Object.values(databases)) await dropDatabase(adminUrl, name);
  }
}
