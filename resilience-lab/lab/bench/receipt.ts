/**
 * The tax receipt: the same quotes, through the same gateway and protections, once calling the
 * supplier over HTTP (two processes) and once calling its catalog module in-process (one), in
 * the same run at the same concurrency: what the network hop costs, and which failure modes,
 * and so which protections, exist only because of it. Appends to REPORT.md, writes receipt.json.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import {
  closedLoop,
  codeLines,
  cpuMeter,
  rssBytesOf,
  wiringCode,
  type LoadResult,
} from '@lab/shared/testkit';
import {
  gatewayEntry,
  monolithEntry,
  startLab,
  startMonolith,
  supplierEntry,
} from '../src/services.ts';

const SECONDS = Number(process.env.RECEIPT_SECONDS ?? 3);
const ROUNDS = 2;
const CONCURRENCY = 16;
const say = (line: string) => process.stdout.write(`receipt: ${line}\n`);
const repoRoot = join(import.meta.dirname, '..', '..', '..');
const protections = join(repoRoot, 'resilience-lab', 'gateway', 'src', 'domain', 'protections');

/**
 * Each protection, the failure it answers, whether that failure can happen to a function call
 * in the same process, and the test that shows it (test/in-process.test.ts unless named).
 */
const PROTECTIONS = [
  {
    name: 'timeout',
    files: ['timeout.ts'],
    failure: 'a call that never answers: a hung socket / an await nobody settles',
    inProcess: 'partly: it ends an await that honours the signal, never a slow computation',
    shownBy: '"When the dependency is slow" (test/timeout.test.ts: real socket cancellation)',
  },
  {
    name: 'retry',
    files: ['retry.ts', 'retry-policy.ts', 'backoff.ts', 'retry-budget.ts'],
    failure: 'a response lost on its connection, a transient 5xx',
    inProcess: 'no: nothing is lost in a function call; a thrown bug fails the same way again',
    shownBy: '"When a response is lost on its connection" and "When a module throws"',
  },
  {
    name: 'breaker',
    files: ['breaker.ts'],
    failure: 'a dependency that is down or failing: stop sending it work',
    inProcess: 'only against a module that keeps throwing; no connection errors exist',
    shownBy: '"When the dependency process dies" (test/breaker.test.ts)',
  },
  {
    name: 'bulkhead',
    files: ['bulkhead.ts'],
    failure: 'slow calls holding every pooled socket, starving the other routes',
    inProcess: 'no: no pool to exhaust; a slow computation blocks every route anyway',
    shownBy: 'test/bulkhead-fallback.test.ts; "When the dependency is slow"',
  },
  {
    name: 'fallback',
    files: ['fallback.ts'],
    failure: 'no answer from the dependency: serve the last good price',
    inProcess: 'only for a module that throws',
    shownBy: 'test/bulkhead-fallback.test.ts',
  },
] as const;

interface Measured {
  load: LoadResult;
  cpuMsPerOperation: number;
  processes: number;
  rssMb: number;
}

async function measure(url: string, pids: number[]): Promise<Measured> {
  const http = new Pool(url, { connections: CONCURRENCY });
  const meter = cpuMeter();
  meter.add(pids);
  const load = await closedLoop(CONCURRENCY, SECONDS, async (n) => {
    const res = await http.request({ method: 'GET', path: `/quotes/sku-${n % 50}` });
    await res.body.dump();
    return res.statusCode === 200;
  });
  const cpu = [...meter.read().values()].reduce((a, b) => a + b, 0);
  await http.close();
  return {
    load,
    cpuMsPerOperation: load.operations > 0 ? cpu / load.operations : Number.NaN,
    processes: pids.length,
    rssMb: pids.reduce((sum, pid) => sum + rssBytesOf(pid), 0) / 2 ** 20,
  };
}

const fmt = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';
const ratio = (a: number, b: number) => (b > 0 ? `${fmt(a / b, 2)}×` : '–');

export async function appendTaxReceipt(): Promise<number> {
  const code = wiringCode(repoRoot, [gatewayEntry, supplierEntry], [monolithEntry]);
  const guards = PROTECTIONS.map((p) => ({
    ...p,
    lines: p.files.reduce((sum, f) => sum + codeLines(join(protections, f)), 0),
  }));
  say('starting both wirings (all protections on, no fault)');
  const [split, monolith] = await Promise.all([startLab(), startMonolith()]);
  try {
    const samples = { split: [] as Measured[], monolith: [] as Measured[] };
    const splitPids = [split.gateway.pid, split.supplier.pid];
    for (let round = 0; round < ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (['split', 'monolith'] as const) : (['monolith', 'split'] as const);
      for (const wiring of order) {
        say(`round ${round + 1}: ${wiring}, ${CONCURRENCY} clients for ${SECONDS} s`);
        samples[wiring].push(
          wiring === 'split'
            ? await measure(split.gateway.url, splitPids)
            : await measure(monolith.gateway.url, [monolith.gateway.pid]),
        );
      }
    }
    // The better round of each: on a shared machine a round is slowed by others, never sped up.
    const best = (list: Measured[]) => {
      const top = [...list].sort((a, b) => b.load.perSecond - a.load.perSecond)[0];
      if (!top) throw new Error('no round was measured');
      return top;
    };
    const s = best(samples.split);
    const m = best(samples.monolith);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    writeFileSync(
      join(import.meta.dirname, 'receipt.json'),
      `${JSON.stringify({ ranAt: new Date().toISOString(), concurrency: CONCURRENCY, seconds: SECONDS, operation: 'GET /quotes/:sku', split: s, inProcess: m, code, protections: guards }, null, 2)}\n`,
    );
    const row = (label: string, a: string, b: string, r = '') =>
      `| ${label} | ${a} | ${b} | ${r} |`;
    const markdown = [
      '',
      '### Tax receipt: the gateway over HTTP against the gateway in-process',
      '',
      `One operation = \`GET /quotes/:sku\` through every protection, no fault injected, ${CONCURRENCY} closed-loop clients, best of ${ROUNDS} alternating ${SECONDS} s rounds per wiring, in the same run.`,
      '',
      '| | over HTTP (gateway + supplier) | in-process (one process) | HTTP / in-process |',
      '| --- | --- | --- | --- |',
      row(
        'quotes/s',
        fmt(s.load.perSecond),
        fmt(m.load.perSecond),
        ratio(s.load.perSecond, m.load.perSecond),
      ),
      row(
        'p50 latency',
        `${fmt(s.load.p50Ms, 2)} ms`,
        `${fmt(m.load.p50Ms, 2)} ms`,
        ratio(s.load.p50Ms, m.load.p50Ms),
      ),
      row(
        'p99 latency',
        `${fmt(s.load.p99Ms, 2)} ms`,
        `${fmt(m.load.p99Ms, 2)} ms`,
        ratio(s.load.p99Ms, m.load.p99Ms),
      ),
      row(
        'CPU ms per quote',
        fmt(s.cpuMsPerOperation, 3),
        fmt(m.cpuMsPerOperation, 3),
        ratio(s.cpuMsPerOperation, m.cpuMsPerOperation),
      ),
      row('processes', String(s.processes), String(m.processes)),
      row('total RSS', `${fmt(s.rssMb)} MB`, `${fmt(m.rssMb)} MB`, ratio(s.rssMb, m.rssMb)),
      row('database connections', 'none', 'none'),
      row(
        'lines loaded by this wiring only',
        String(sum(code.splitOnly)),
        String(sum(code.inProcessOnly)),
      ),
      row(
        '… by package',
        Object.entries(code.splitOnly)
          .map(([p, n]) => `${p} ${n}`)
          .join(', '),
        Object.entries(code.inProcessOnly)
          .map(([p, n]) => `${p} ${n}`)
          .join(', '),
      ),
      '',
      'Both wirings load every protection; what changes is which failures remain for them to meet:',
      '',
      '| protection | lines | the failure it answers | does it happen in-process? | shown by |',
      '| --- | --- | --- | --- | --- |',
      ...guards.map(
        (g) => `| ${g.name} | ${g.lines} | ${g.failure} | ${g.inProcess} | ${g.shownBy} |`,
      ),
      '',
      'Rules. CPU: utime+stime from /proc/<pid>/stat over the load window, summed over the wiring\'s processes (the load generator excluded). RSS: the same processes after the load. Lines: non-blank, non-comment lines; "loaded by this wiring only" follows static and dynamic imports from each start.ts through relative paths and @lab/* package exports (`import type` excluded) and keeps the files the other wiring does not load; protection lines count the files named in bench/receipt.ts. All computed from the source at bench time.',
      '',
    ].join('\n');
    appendFileSync(join(import.meta.dirname, 'REPORT.md'), markdown);
    process.stdout.write(markdown);
    return 0;
  } finally {
    await Promise.all([split.stop(), monolith.stop()]);
  }
}
