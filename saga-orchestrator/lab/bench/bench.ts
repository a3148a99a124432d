/**
 * `pnpm lab saga bench`: what durability costs and how fast a crash heals, on this machine.
 * - throughput and latency of completed trips through the orchestrator, against a baseline
 *   that makes the same seven participant calls directly, with no saga log (same run);
 * - orchestrator overhead per step: trip latency minus the participants' own handling time
 *   (their Server-Timing), divided by the seven steps;
 * - recovery: 1,000 trips in flight, SIGKILL, restart; time until all are terminal.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { databaseUrlFor, dropDatabase } from '@lab/shared/pg';
import { bookTrip, createStock, tripRequest, type Stock } from '../src/saga-client.ts';
import { startSagaLab, uniqueDatabases, type SagaLab } from '../src/saga-lab.ts';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TRIPS = Number(process.env.BENCH_TRIPS ?? 300);
const IN_FLIGHT = 1000;
const CONCURRENCY = 20;

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

async function pool<T>(count: number, concurrency: number, work: (i: number) => Promise<T>) {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

/** Waits until `total` sagas are terminal; returns how many were, so an overloaded run still reports. */
async function untilTerminal(db: pg.Client, total: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sagas WHERE status IN ('COMPLETED', 'COMPENSATED')`,
    );
    const terminal = rows[0]?.n ?? 0;
    if (terminal >= total || Date.now() > deadline) return terminal;
    await new Promise((resolve) => setTimeout(resolve, 25));
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

export async function bench(): Promise<void> {
  const databases = uniqueDatabases('bench');
  // Generous step budgets: on a loaded machine slowness should show as latency, not as
  // compensated trips.
  const lab = await startSagaLab({
    databases,
    env: { DB_POOL_SIZE: '20' },
    orchestratorEnv: {
      STEP_TIMEOUT_MS: '10000',
      STEP_DEADLINE_MS: '120000',
      SAGA_DEADLINE_MS: '600000',
      LOG_LEVEL: 'info',
    },
  });
  const db = new pg.Client({ connectionString: databaseUrlFor(adminUrl, databases.orchestrator) });
  await db.connect();
  try {
    const stock = await createStock(lab.urls, 1_000_000);
    process.stdout.write(`baseline: ${TRIPS} direct call chains...\n`);
    const baseStart = performance.now();
    const direct = await pool(TRIPS, CONCURRENCY, (i) => directTrip(lab, stock, `direct-${i}`));
    const baseSeconds = (performance.now() - baseStart) / 1000;

    process.stdout.write(`saga: ${TRIPS} trips through the orchestrator...\n`);
    const sagaStart = performance.now();
    await pool(TRIPS, CONCURRENCY, () => bookTrip(lab.urls.orchestrator, tripRequest(stock)));
    const happyTerminal = await untilTerminal(db, TRIPS, 120_000);
    const sagaSeconds = (performance.now() - sagaStart) / 1000;
    const { rows } = await db.query<{ latency: number; participant: number; status: string }>(
      `SELECT extract(epoch FROM finished_at - created_at) * 1000 AS latency,
              participant_ms AS participant, status FROM sagas WHERE status = 'COMPLETED'`,
    );
    const { rows: states } = await db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM sagas GROUP BY status',
    );
    const latencies = rows.map((row) => row.latency);
    const overheads = rows.map((row) => (row.latency - row.participant) / 7);

    process.stdout.write(`recovery: ${IN_FLIGHT} trips in flight, SIGKILL, restart...\n`);
    await db.query('TRUNCATE saga_steps, sagas');
    await pool(IN_FLIGHT, 20, () => bookTrip(lab.urls.orchestrator, tripRequest(stock)));
    await lab.services.orchestrator?.kill();
    const { rows: left } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sagas WHERE status NOT IN ('COMPLETED', 'COMPENSATED')`,
    );
    const restartAt = performance.now();
    await lab.startOrchestrator();
    const recovered = await untilTerminal(db, IN_FLIGHT, 180_000);
    const recoverySeconds = (performance.now() - restartAt) / 1000;

    const tripsPerSecond = rows.length / sagaSeconds;
    const baselinePerSecond = TRIPS / baseSeconds;
    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      trips: TRIPS,
      concurrency: CONCURRENCY,
      completedTripsPerSecond: round(tripsPerSecond),
      baselineDirectChainsPerSecond: round(baselinePerSecond),
      tripLatencyMs: { p50: round(pct(latencies, 50)), p99: round(pct(latencies, 99)) },
      baselineLatencyMs: { p50: round(pct(direct, 50)), p99: round(pct(direct, 99)) },
      overheadPerStepMs: { p50: round(pct(overheads, 50)), p99: round(pct(overheads, 99)) },
      happyPathOutcome: Object.fromEntries(states.map((row) => [row.status, row.n])),
      happyPathTerminal: happyTerminal,
      recovery: {
        inFlightAtKill: left[0]?.n ?? 0,
        terminalAfterRestart: recovered,
        secondsToAllTerminal: round(recoverySeconds),
      },
    };
    const table = [
      [
        'completed trips/s',
        results.completedTripsPerSecond,
        results.baselineDirectChainsPerSecond,
        '≥ 300',
        tripsPerSecond >= 300,
      ],
      [
        'trip latency p50 (ms)',
        results.tripLatencyMs.p50,
        results.baselineLatencyMs.p50,
        '',
        undefined,
      ],
      [
        'trip latency p99 (ms)',
        results.tripLatencyMs.p99,
        results.baselineLatencyMs.p99,
        '',
        undefined,
      ],
      [
        'overhead per step p50 (ms)',
        results.overheadPerStepMs.p50,
        0,
        '≤ 1',
        results.overheadPerStepMs.p50 <= 1,
      ],
      ['overhead per step p99 (ms)', results.overheadPerStepMs.p99, 0, '', undefined],
      [
        `recovery of ${results.recovery.inFlightAtKill} in-flight trips (s)`,
        results.recovery.secondsToAllTerminal,
        0,
        '≤ 10',
        recoverySeconds <= 10,
      ],
    ] as const;
    const lines = [
      '## Saga lab',
      '',
      `${TRIPS} happy-path trips, ${CONCURRENCY} concurrent clients, ${results.machine.cpus} CPUs, Node ${process.version}. Baseline: the same seven participant calls made directly, without orchestrator or saga log, in the same run.`,
      '',
      `Happy-path outcome: ${JSON.stringify(results.happyPathOutcome)}; recovery: ${recovered}/${IN_FLIGHT} terminal after the restart.`,
      '',
      '| metric | value | baseline | ratio | target | met? |',
      '| --- | --- | --- | --- | --- | --- |',
      ...table.map(
        ([metric, value, baseline, target, met]) =>
          `| ${metric} | ${value} | ${baseline || '-'} | ${baseline ? round(value / baseline) : '-'} | ${target || '-'} | ${met === undefined ? '-' : met ? 'yes' : 'no'} |`,
      ),
      '',
    ];
    const out = import.meta.dirname;
    (await import('node:fs')).mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, 'REPORT.md'), lines.join('\n'));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await db.end();
    await lab.stop();
    for (const name of Object.values(databases)) await dropDatabase(adminUrl, name);
  }
}
