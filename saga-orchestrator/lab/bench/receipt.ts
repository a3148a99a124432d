/**
 * The tax receipt: what distribution costs, measured in one run on the same machine. The same
 * trips are booked from the same number of closed-loop clients against both wirings of the
 * saga lab: the split lab (an orchestrator and four participants, five databases, a saga) and
 * the modular monolith (one process, one database, one transaction per trip). Then the bill:
 *
 * - throughput and latency at the same concurrency (a split trip counts once it is terminal);
 * - CPU milliseconds per trip: the user+system CPU (/proc/<pid>/stat) of every service process
 *   plus every PostgreSQL backend connected to the wiring's databases, between the start and
 *   the end of the measured trips (a backend that connected in between counts from zero; one
 *   that disconnected before the end is missed; the server's shared background processes are
 *   not counted);
 * - service processes, their peak total RSS, and the peak number of database connections
 *   (pg_stat_activity rows on the wiring's databases, sampled every 100 ms);
 * - lines of code that exist only because of distribution, counted from the source now (the
 *   rule is `distributionOnly` below: whole files, lines that are neither blank nor
 *   comment-only);
 * - the failure modes side by side, each pointing at the test that demonstrates it.
 */
import { readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { cpuMsOf, percentile, rssBytesOf } from '@lab/shared/testkit';
import {
  createStock,
  post,
  tripRequest,
  TERMINAL,
  waitForStatus,
  type Stock,
} from '../src/client.ts';
import {
  adminDatabaseUrl,
  startSagaLab,
  startSagaMonolith,
  uniqueDatabases,
  uniqueMonolithDatabase,
  type SagaLab,
  type SagaMonolith,
} from '../src/services.ts';

const adminUrl = adminDatabaseUrl();
const TRIPS = Number(process.env.BENCH_RECEIPT_TRIPS ?? 200);
const ROUNDS = 2;
const CONCURRENCY = 20;
const sagaDir = join(import.meta.dirname, '..', '..');

const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const say = (line: string) => process.stdout.write(`bench receipt: ${line}\n`);

/** A wiring as the receipt drives it: where trips go, which processes and databases are its. */
interface Wiring {
  name: 'split' | 'monolith';
  stockUrls: Parameters<typeof createStock>[0];
  pids: () => number[];
  databases: string[];
  /** Books one trip and resolves once it is terminal. */
  book: (stock: Stock) => Promise<void>;
}

// ---- CPU, memory, connections -------------------------------------------------------------

const rssKbOf = (pid: number) => rssBytesOf(pid) / 1024;

async function backends(admin: pg.Client, databases: string[]): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
    [databases],
  );
  return rows.map((row) => row.pid);
}

/** CPU of the wiring's processes and backends now, by pid. */
async function cpuSnapshot(admin: pg.Client, wiring: Wiring) {
  const pids = [...wiring.pids(), ...(await backends(admin, wiring.databases))];
  return new Map(pids.map((pid) => [pid, cpuMsOf(pid)]));
}

function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, end] of after) total += end - (before.get(pid) ?? 0);
  return total;
}

/** Samples peak RSS of the service processes and peak connections while the trips run. */
function peakSampler(admin: pg.Client, wiring: Wiring) {
  const peak = { rssKb: 0, connections: 0 };
  const state = { running: true };
  const loop = (async () => {
    while (state.running) {
      const rss = wiring.pids().reduce((sum, pid) => sum + rssKbOf(pid), 0);
      const connections = (await backends(admin, wiring.databases)).length;
      peak.rssKb = Math.max(peak.rssKb, rss);
      peak.connections = Math.max(peak.connections, connections);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      state.running = false;
      await loop;
      return peak;
    },
  };
}

// ---- driving the two wirings ----------------------------------------------------------------

/**
 * Books a trip and resolves once it is terminal: `Prefer: wait` asks either wiring to answer
 * with the outcome (the monolith always does: its answer comes after the commit).
 */
async function bookTrip(url: string, stock: Stock): Promise<void> {
  const answer = await post<{ tripId: string; status: string }>(
    `${url}/trips`,
    tripRequest(stock),
    { prefer: 'wait=60' },
    [202],
  );
  if (!TERMINAL.includes(answer.status)) await waitForStatus(url, answer.tripId);
}

interface Run {
  trips: number;
  seconds: number;
  latencies: number[];
  cpuMs: number;
  peakRssKb: number;
  peakConnections: number;
}

async function measure(admin: pg.Client, wiring: Wiring, trips: number) {
  const stocks = await Promise.all(
    Array.from({ length: CONCURRENCY }, () => createStock(wiring.stockUrls, trips)),
  );
  const latencies: number[] = [];
  const sampler = peakSampler(admin, wiring);
  const before = await cpuSnapshot(admin, wiring);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    stocks.map(async (stock) => {
      while (next < trips) {
        next++;
        const t0 = performance.now();
        await wiring.book(stock);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const after = await cpuSnapshot(admin, wiring);
  const peak = await sampler.stop();
  return {
    trips,
    seconds,
    latencies,
    cpuMs: cpuBetween(before, after),
    peakRssKb: peak.rssKb,
    peakConnections: peak.connections,
  } satisfies Run;
}

// ---- lines of code that exist only because of distribution ----------------------------------

interface Counted {
  category: string;
  path: string;
}

/**
 * The rule: code whose only reason to exist is that the trip's steps run in other processes
 * with other databases: the saga log and its leases, the HTTP client between services, retries
 * and their policy, compensations and the pivot (with the semantic lock's holds, tombstones and
 * expiry that compensations need), idempotency between services, crash points for recovery.
 * Code both wirings need (the reservation and charge rules, the public API and its client
 * Idempotency-Key, validation, the admin routes) is not counted. Only whole files count: the
 * participants' repositories, where the semantic lock's holds, tombstones and expiry sit beside
 * the sale both wirings make, are left out, so the split's figure is a lower bound. The
 * monolith's counterpart of compensations is its savepoint.
 */
const distributionOnly: Record<'split' | 'monolith', Counted[]> = {
  split: [
    {
      category: 'saga log and leases',
      path: 'orchestrator/src/data-access/saga-log.repository.ts',
    },
    {
      category: 'saga log and leases',
      path: 'orchestrator/src/data-access/migrations/001_saga_log.sql',
    },
    {
      category: 'saga log and leases',
      path: 'orchestrator/src/data-access/migrations/002_room_for_hot_updates.sql',
    },
    {
      category: 'saga log and leases',
      path: 'orchestrator/src/data-access/group-commit.ts',
    },
    { category: 'saga log and leases', path: 'orchestrator/src/domain/saga-worker.ts' },
    {
      category: 'HTTP client between services',
      path: 'orchestrator/src/data-access/participant.client.ts',
    },
    { category: 'compensations, pivot, retries', path: 'orchestrator/src/domain/saga-runner.ts' },
    { category: 'compensations, pivot, retries', path: 'orchestrator/src/domain/saga-policy.ts' },
    {
      category: 'compensations, pivot, retries',
      path: 'orchestrator/src/domain/saga-definition.ts',
    },
    {
      category: 'compensations, pivot, retries',
      path: 'orchestrator/src/domain/book-trip.saga.ts',
    },
    {
      category: 'idempotency between services',
      path: 'participant-kit/src/data-access/idempotency.repository.ts',
    },
    {
      category: 'idempotency between services',
      path: 'participant-kit/src/entry-points/api/idempotent-route.ts',
    },
    { category: 'crash recovery', path: 'orchestrator/src/infrastructure/crash-points.ts' },
  ],
  monolith: [
    { category: 'compensations, pivot, retries', path: 'monolith/src/infrastructure/savepoint.ts' },
  ],
};

/** Lines that are neither blank nor only a comment (`//`, `/* … *\/`, `*`, or SQL's `--`). */
function codeLines(text: string): number {
  return text.split('\n').filter((line) => {
    const trimmed = line.trim();
    return trimmed !== '' && !/^(\/\/|\/\*|\*|--)/.test(trimmed);
  }).length;
}

function countDistributionOnly(wiring: 'split' | 'monolith') {
  const files = distributionOnly[wiring].map((entry) => ({
    ...entry,
    lines: codeLines(readFileSync(join(sagaDir, entry.path), 'utf8')),
  }));
  return { total: files.reduce((sum, file) => sum + file.lines, 0), files };
}

/** Every line of a wiring's own service code (TypeScript and SQL under src/). */
function serviceLines(packages: string[]): number {
  const walk = (dir: string): number =>
    readdirSync(dir).reduce((sum, name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return sum + walk(path);
      return /\.(ts|sql)$/.test(name) ? sum + codeLines(readFileSync(path, 'utf8')) : sum;
    }, 0);
  return packages.reduce((sum, pkg) => sum + walk(join(sagaDir, pkg, 'src')), 0);
}

// ---- the failure modes, each pointing at its demonstration ----------------------------------

const failureModes = [
  {
    mode: 'one module’s process killed',
    split:
      'the orchestrator and the other participants keep answering; the trip waits for the killed one, its refused calls uncounted, and completes once it is back, or is compensated when the step’s deadline passes (`lab/test/transient-failures.test.ts`, "When the hotels process is down", and "When the hotels process stays down past the step deadline")',
    monolith:
      'everything is down until it restarts; no trip is half-written, the audit is clean (`lab/test/monolith.test.ts`, "When the monolith is SIGKILLed")',
  },
  {
    mode: 'a slow dependency',
    split:
      'a per-step timeout aborts the call and a retry completes the trip (`lab/test/transient-failures.test.ts`, "When flights hangs")',
    monolith:
      'a slow module is a slower transaction: the trip waits and completes, with no timeout, retry or ambiguous step (`lab/test/monolith.test.ts`, "When a module is slow")',
  },
  {
    mode: 'a duplicate delivery',
    split:
      'every participant call carries an Idempotency-Key; duplicates replay the stored answer (`lab/test/transient-failures.test.ts`, "When the same call is duplicated concurrently", "When responses are lost after the commit")',
    monolith:
      'no call between modules can be delivered twice; only the client’s POST /trips keeps its key, as in the split wiring (`lab/test/trips.contract.ts`, "When the same POST arrives twice at once", run against both)',
  },
  {
    mode: 'a stale read',
    split:
      'POST /trips answers PENDING while its steps run after the answer; a read right after may see holds not yet sold (`lab/test/happy-path.test.ts`, "When a trip is accepted")',
    monolith:
      'the answer comes after the commit: the first read sees the final trip (`lab/test/monolith.test.ts`, "When POST /trips answers")',
  },
];

// ---- the receipt -----------------------------------------------------------------------------

function startWirings(): Promise<[SagaLab, SagaMonolith]> {
  return Promise.all([
    startSagaLab({ databases: uniqueDatabases('receipt') }),
    startSagaMonolith({ database: uniqueMonolithDatabase('receipt') }),
  ]);
}

/**
 * Measures both wirings and adds the receipt to the saga bench's results.json and REPORT.md in
 * `out`, which the bench has just written.
 */
export async function appendTaxReceipt(out: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const [lab, monolith] = await startWirings();
  try {
    const wirings: Wiring[] = [
      {
        name: 'split',
        stockUrls: lab.urls,
        pids: () => Object.values(lab.services).map((service) => service.pid),
        databases: Object.values(lab.databases),
        book: (stock) => bookTrip(lab.urls.orchestrator, stock),
      },
      {
        name: 'monolith',
        stockUrls: monolith.urls,
        pids: () => [monolith.service.pid],
        databases: [monolith.database],
        book: (stock) => bookTrip(monolith.urls.orchestrator, stock),
      },
    ];
    const runs = new Map<string, Run[]>(wirings.map((w) => [w.name, []]));
    for (const wiring of wirings) await measure(admin, wiring, CONCURRENCY); // warm-up
    // Rounds alternate the wirings, so drift on a shared machine hits both.
    for (let r = 0; r < ROUNDS; r++)
      for (const wiring of wirings) {
        say(`round ${r + 1}/${ROUNDS}: ${wiring.name}`);
        runs.get(wiring.name)?.push(await measure(admin, wiring, TRIPS / ROUNDS));
      }

    const summary = (name: string, processes: number, packages: string[]) => {
      const all = runs.get(name) ?? [];
      const trips = all.reduce((sum, run) => sum + run.trips, 0);
      const seconds = all.reduce((sum, run) => sum + run.seconds, 0);
      const latencies = all.flatMap((run) => run.latencies);
      const wiring = name as 'split' | 'monolith';
      return {
        tripsPerSecond: round(trips / seconds),
        latencyMs: {
          p50: round(percentile(latencies, 50) ?? 0),
          p99: round(percentile(latencies, 99) ?? 0),
        },
        cpuMsPerTrip: round(all.reduce((sum, run) => sum + run.cpuMs, 0) / trips),
        serviceProcesses: processes,
        peakRssMb: round(Math.max(...all.map((run) => run.peakRssKb)) / 1024, 1),
        peakDatabaseConnections: Math.max(...all.map((run) => run.peakConnections)),
        databases: name === 'split' ? 5 : 1,
        distributionOnlyLines: countDistributionOnly(wiring),
        serviceLines: serviceLines(packages),
      };
    };
    const split = summary('split', Object.keys(lab.services).length, [
      'orchestrator',
      'flights',
      'hotels',
      'cars',
      'payments',
      'participant-kit',
    ]);
    const mono = summary('monolith', 1, ['monolith']);
    const receipt = {
      trips: TRIPS,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      split,
      monolith: mono,
      failureModes,
    };
    const ratio = (a: number, b: number) => (b === 0 ? '-' : String(round(a / b)));
    const row = (metric: string, s: number | string, m: number | string, r: string) =>
      `| ${metric} | ${s} | ${m} | ${r} |`;
    const markdown = [
      '### Earn your distribution: the tax receipt',
      '',
      `The same ${TRIPS} happy-path trips from ${CONCURRENCY} closed-loop clients against both wirings, in ${ROUNDS} alternating rounds after a warm-up: the split lab (a split trip counts once it is terminal) and the modular monolith (\`pnpm lab saga up --monolith\`: one process, one database, one transaction per trip). CPU per trip is the user+system CPU of the service processes and of the PostgreSQL backends connected to the wiring's databases during the trips. Distribution-only lines follow the rule in \`saga-orchestrator/lab/bench/receipt.ts\` (\`distributionOnly\`), counted from the source in this run (whole files only, so the split's figure is a lower bound).`,
      '',
      '| metric | split (saga) | monolith | split / monolith |',
      '| --- | --- | --- | --- |',
      row(
        'trips/s',
        split.tripsPerSecond,
        mono.tripsPerSecond,
        ratio(split.tripsPerSecond, mono.tripsPerSecond),
      ),
      row(
        'trip latency p50 / p99 (ms)',
        `${split.latencyMs.p50} / ${split.latencyMs.p99}`,
        `${mono.latencyMs.p50} / ${mono.latencyMs.p99}`,
        ratio(split.latencyMs.p50, mono.latencyMs.p50),
      ),
      row(
        'CPU ms per trip (services + PostgreSQL backends)',
        split.cpuMsPerTrip,
        mono.cpuMsPerTrip,
        ratio(split.cpuMsPerTrip, mono.cpuMsPerTrip),
      ),
      row(
        'service processes / databases',
        `${split.serviceProcesses} / ${split.databases}`,
        `${mono.serviceProcesses} / ${mono.databases}`,
        ratio(split.serviceProcesses, mono.serviceProcesses),
      ),
      row(
        'peak RSS of the services (MB)',
        split.peakRssMb,
        mono.peakRssMb,
        ratio(split.peakRssMb, mono.peakRssMb),
      ),
      row(
        'peak database connections',
        split.peakDatabaseConnections,
        mono.peakDatabaseConnections,
        ratio(split.peakDatabaseConnections, mono.peakDatabaseConnections),
      ),
      row(
        'lines that exist only because of distribution',
        split.distributionOnlyLines.total,
        mono.distributionOnlyLines.total,
        ratio(split.distributionOnlyLines.total, mono.distributionOnlyLines.total),
      ),
      row(
        'lines of service code in all',
        split.serviceLines,
        mono.serviceLines,
        ratio(split.serviceLines, mono.serviceLines),
      ),
      '',
      'Distribution-only lines by file:',
      '',
      ...(['split', 'monolith'] as const).flatMap((name) =>
        receipt[name].distributionOnlyLines.files.map(
          (file) => `- ${name}: \`${file.path}\`, ${file.category}: ${file.lines}`,
        ),
      ),
      '',
      '| failure mode | split (saga) | monolith |',
      '| --- | --- | --- |',
      ...failureModes.map((f) => `| ${f.mode} | ${f.split} | ${f.monolith} |`),
      '',
    ];
    const resultsPath = join(out, 'results.json');
    const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(resultsPath, `${JSON.stringify({ ...results, taxReceipt: receipt }, null, 2)}\n`);
    const reportPath = join(out, 'REPORT.md');
    writeFileSync(
      reportPath,
      `${readFileSync(reportPath, 'utf8').trimEnd()}\n\n${markdown.join('\n')}`,
    );
    process.stdout.write(`${markdown.join('\n')}\n`);
  } finally {
    await admin.end();
    await Promise.all([lab.stop(), monolith.stop()]);
  }
}
