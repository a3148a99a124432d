/**
 * The tax receipt: the same business operation (place an order, then read it back with its
 * consistency token) against both wirings in the same run, at the same concurrency, and what
 * each one costs: throughput and latency, CPU per operation, processes, memory, database
 * connections, the code that exists only because of distribution, and the failure modes side by
 * side, all but duplicate delivery demonstrated here on the running wirings (that one is a
 * test's). Appends to REPORT.md, writes receipt.json.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool as HttpPool } from 'undici';
import { createPool, databaseUrlFor, type Pool } from '@lab/shared/pg';
import { createRedis } from '@lab/shared/redis';
import {
  closedLoop,
  cpuMeter,
  findProcess,
  rssBytesOf,
  wiringCode,
  type LoadResult,
} from '@lab/shared/testkit';
import { auditWriteModel } from '../src/audit.ts';
import { commandClient } from '../src/client.ts';
import {
  ENTRIES,
  isolatedNamespace,
  LAB_DIR,
  MONOLITH_ENTRY,
  releaseNamespace,
  startStack,
  stopAllStacks,
  type Stack,
  type Wiring,
} from '../src/services.ts';

const SECONDS = Number(process.env.RECEIPT_SECONDS ?? 4);
const ROUNDS = 2;
const CONCURRENCY = 8;
const PRODUCTS = 20;
const STALE_PROBES = 50;
const say = (line: string) => process.stdout.write(`receipt: ${line}\n`);

interface Wired {
  wiring: Wiring;
  stack: Stack;
  pool: Pool;
  http: HttpPool;
  productIds: string[];
}

interface Measured {
  load: LoadResult;
  cpuMsPerOperation: number;
  cpuMsByRole: Record<string, number>;
  processes: number;
  rssMb: number;
  databaseConnections: number;
}

async function start(wiring: Wiring): Promise<Wired> {
  const ns = isolatedNamespace(`receipt_${wiring}`);
  const stack = await startStack({ ns, wiring, logLevel: 'warn' });
  const pool = createPool(databaseUrlFor(ns.databaseUrl, ns.databaseName), { max: 2 });
  const commands = commandClient(stack.url('command'));
  const productIds: string[] = [];
  for (let i = 0; i < PRODUCTS; i++)
    productIds.push(
      (
        await commands.createProduct({
          sku: `receipt-${i}`,
          name: `Receipt product ${i}`,
          priceCents: 100 + i,
          stock: 1e9,
        })
      ).body.id,
    );
  return {
    wiring,
    stack,
    pool,
    http: new HttpPool(stack.url('command'), { connections: 32 }),
    productIds,
  };
}

/** Place an order, then read it back with its token: read-your-writes, as a client needs it. */
function placeAndRead(w: Wired, query: HttpPool) {
  return async (n: number): Promise<boolean> => {
    const placed = await w.http.request({
      method: 'POST',
      path: '/orders',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customerId: `receipt-${n % 50}`,
        lines: [{ productId: w.productIds[n % PRODUCTS], quantity: 1 }],
      }),
    });
    const written = (await placed.body.json()) as { id?: string; consistencyToken?: string };
    if (placed.statusCode !== 201 || !written.id || !written.consistencyToken) return false;
    const read = await query.request({
      method: 'GET',
      path: `/orders/${written.id}`,
      headers: {
        'x-consistency-token': written.consistencyToken,
        'x-consistency-timeout-ms': '5000',
      },
    });
    await read.body.dump();
    return read.statusCode === 200;
  };
}

/** The processes a wiring runs on, by role: its services, PostgreSQL backends, Redis, Kafka. */
async function processesOf(w: Wired): Promise<Record<string, number[]>> {
  const services = [...new Set(Object.values(w.stack.services).map((s) => s.pid))];
  const { rows } = await w.pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [w.stack.ns.databaseName],
  );
  const roles: Record<string, number[]> = {
    services,
    'postgresql backends': rows.map((r) => r.pid),
  };
  if (w.wiring === 'split') {
    const redis = createRedis(w.stack.ns.redisUrl);
    const info = await redis.info('server');
    await redis.quit();
    const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    const kafkaPid = findProcess(/kafka\.Kafka/);
    roles.redis = Number.isFinite(redisPid) ? [redisPid] : [];
    roles.kafka = kafkaPid === undefined ? [] : [kafkaPid];
  }
  return roles;
}

async function measure(w: Wired): Promise<Measured> {
  const query = new HttpPool(w.stack.url('query'), { connections: 32 });
  const before = await processesOf(w);
  const meters = Object.fromEntries(
    Object.entries(before).map(([role, pids]) => {
      const meter = cpuMeter();
      meter.add(pids);
      return [role, meter];
    }),
  );
  const load = await closedLoop(CONCURRENCY, SECONDS, placeAndRead(w, query));
  const after = await processesOf(w);
  // Backends a pool opened during the load count too, all their CPU: they were born in it.
  for (const [role, pids] of Object.entries(after)) meters[role]?.add(pids, { bornSince: true });
  const { rows } = await w.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [w.stack.ns.databaseName],
  );
  await query.close();
  const cpuMsByRole = Object.fromEntries(
    Object.entries(meters).map(([role, meter]) => [
      role,
      [...meter.read().values()].reduce((a, b) => a + b, 0),
    ]),
  );
  const all = [...new Set(Object.values(after).flat())];
  const cpu = Object.values(cpuMsByRole).reduce((a, b) => a + b, 0);
  return {
    load,
    cpuMsPerOperation: load.operations > 0 ? cpu / load.operations : Number.NaN,
    cpuMsByRole,
    processes:
      (after.services?.length ?? 0) +
      // PostgreSQL counts as one server, whatever its backends; Redis and Kafka one each.
      1 +
      (after.redis?.length ?? 0) +
      (after.kafka?.length ?? 0),
    rssMb: all.reduce((sum, pid) => sum + rssBytesOf(pid), 0) / 2 ** 20,
    databaseConnections: rows[0]?.n ?? 0,
  };
}

/** Reads without a token right after each write: how many miss the write they follow. */
async function staleReads(w: Wired): Promise<number> {
  const commands = commandClient(w.stack.url('command'));
  let stale = 0;
  for (let i = 0; i < STALE_PROBES; i++) {
    const placed = await commands.placeOrder({
      customerId: 'stale-probe',
      lines: [{ productId: w.productIds[0] ?? '', quantity: 1 }],
    });
    const read = await fetch(`${w.stack.url('query')}/orders/${placed.body.id}`);
    await read.body?.cancel();
    if (read.status !== 200) stale += 1;
  }
  return stale;
}

interface Outage {
  commandAfter: string;
  queryAfter: string;
  tokenRead?: string;
}

const outcome = async (request: Promise<Response>) => {
  try {
    const res = await request;
    const body = (await res.json().catch(() => ({}))) as { code?: string };
    return `${res.status}${body.code ? ` ${body.code}` : ''}`;
  } catch {
    return 'connection refused';
  }
};

/** The read side's updater stops (split: the projector; the monolith has none to stop). */
async function updaterDown(w: Wired): Promise<string> {
  if (w.wiring === 'split') await w.stack.kill('projector');
  const commands = commandClient(w.stack.url('command'));
  const placed = await commands.placeOrder({
    customerId: 'updater-down',
    lines: [{ productId: w.productIds[1] ?? '', quantity: 1 }],
  });
  return outcome(
    fetch(`${w.stack.url('query')}/orders/${placed.body.id}`, {
      headers: {
        'x-consistency-token': placed.body.consistencyToken,
        'x-consistency-timeout-ms': '300',
      },
    }),
  );
}

/** The write side's process dies: what still answers, and is anything left half-done? */
async function writerDown(w: Wired): Promise<Outage & { violations: number }> {
  await w.stack.kill('command');
  const product = w.productIds[2] ?? '';
  const commandAfter = await outcome(
    fetch(`${w.stack.url('command')}/products/${product}/restock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ quantity: 1 }),
    }),
  );
  const queryAfter = await outcome(fetch(`${w.stack.url('query')}/products/${product}`));
  const violations = await auditWriteModel(w.pool, { outbox: w.wiring === 'split' });
  return { commandAfter, queryAfter, violations: violations.length };
}

const fmt = (v: number, digits = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';
const ratio = (a: number, b: number) => (b > 0 ? `${fmt(a / b, 2)}×` : '–');

export async function appendTaxReceipt(): Promise<number> {
  say('counting the code each wiring loads');
  const entry = (name: keyof typeof ENTRIES) => ENTRIES[name];
  const code = wiringCode(
    join(LAB_DIR, '..'),
    [entry('command'), entry('query'), entry('relay'), entry('projector')],
    [MONOLITH_ENTRY],
  );
  say('starting both wirings');
  const started = await Promise.allSettled([start('split'), start('monolith')]);
  const wirings = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const [split, monolith] = wirings;
    if (!split || !monolith) throw new Error('a wiring did not start');
    const samples: Record<Wiring, Measured[]> = { split: [], monolith: [] };
    for (let round = 0; round < ROUNDS; round++)
      for (const w of round % 2 === 0 ? wirings : [...wirings].reverse()) {
        say(`round ${round + 1}: ${w.wiring}, ${CONCURRENCY} clients for ${SECONDS} s`);
        samples[w.wiring].push(await measure(w));
      }
    // Of the rounds, the one with the median throughput (with two, the better one: on a shared
    // machine a round is slowed by others, never sped up).
    const pick = (list: Measured[]) => {
      const best = [...list].sort((a, b) => b.load.perSecond - a.load.perSecond)[0];
      if (!best) throw new Error('no round was measured');
      return best;
    };
    const s = pick(samples.split);
    const m = pick(samples.monolith);

    say('failure modes: stale reads, the read side stopped, the write side killed');
    const stale = { split: await staleReads(split), monolith: await staleReads(monolith) };
    const updater = { split: await updaterDown(split), monolith: await updaterDown(monolith) };
    const writer = { split: await writerDown(split), monolith: await writerDown(monolith) };

    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    const receipt = {
      ranAt: new Date().toISOString(),
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      operation: 'POST /orders, then GET /orders/:id with its consistency token',
      split: s,
      monolith: m,
      code,
      staleReads: { probes: STALE_PROBES, ...stale },
      readSideStopped: updater,
      writeSideKilled: writer,
    };
    writeFileSync(
      join(import.meta.dirname, 'receipt.json'),
      `${JSON.stringify(receipt, null, 2)}\n`,
    );
    // What the split's query service did once the command service was dead, from its answer:
    // it has its own process and read model, so it may still answer, from data no new command
    // can change until the writer is back. Said only when it did answer.
    const splitQueryServed = /^2\d\d\b/.test(writer.split.queryAfter)
      ? 'served from the read model, which no new command can change while the writer is down'
      : 'not served';
    const row = (label: string, a: string, b: string, r = '') =>
      `| ${label} | ${a} | ${b} | ${r} |`;
    const roles = (x: Measured) =>
      Object.entries(x.cpuMsByRole)
        .map(([role, ms]) => `${role} ${fmt(ms / x.load.operations, 2)}`)
        .join(', ');
    const markdown = [
      '',
      '### Tax receipt: split wiring against the modular monolith',
      '',
      `One operation = \`POST /orders\` then \`GET /orders/:id\` with its consistency token (read-your-writes), ${CONCURRENCY} closed-loop clients, best of ${ROUNDS} alternating ${SECONDS} s rounds per wiring, in the same run.`,
      '',
      '| | split (command, relay, projector, query) | monolith (one process) | split / monolith |',
      '| --- | --- | --- | --- |',
      row(
        'operations/s',
        fmt(s.load.perSecond),
        fmt(m.load.perSecond),
        ratio(s.load.perSecond, m.load.perSecond),
      ),
      row(
        'p50 latency',
        `${fmt(s.load.p50Ms, 1)} ms`,
        `${fmt(m.load.p50Ms, 1)} ms`,
        ratio(s.load.p50Ms, m.load.p50Ms),
      ),
      row(
        'p99 latency',
        `${fmt(s.load.p99Ms, 1)} ms`,
        `${fmt(m.load.p99Ms, 1)} ms`,
        ratio(s.load.p99Ms, m.load.p99Ms),
      ),
      row(
        'CPU ms per operation',
        fmt(s.cpuMsPerOperation, 2),
        fmt(m.cpuMsPerOperation, 2),
        ratio(s.cpuMsPerOperation, m.cpuMsPerOperation),
      ),
      row('… of which', roles(s), roles(m)),
      row('processes', String(s.processes), String(m.processes), ratio(s.processes, m.processes)),
      row('total RSS', `${fmt(s.rssMb)} MB`, `${fmt(m.rssMb)} MB`, ratio(s.rssMb, m.rssMb)),
      row('PostgreSQL connections', String(s.databaseConnections), String(m.databaseConnections)),
      row(
        'lines loaded by this wiring only',
        String(sum(code.splitOnly)),
        String(sum(code.inProcessOnly)),
        ratio(sum(code.splitOnly), sum(code.inProcessOnly)),
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
      row('failed operations during the load', String(s.load.errors), String(m.load.errors)),
      '',
      'Failure modes. Every row but the last was demonstrated in this run on the wirings measured above; duplicate delivery was not, and its row names the test that shows it.',
      '',
      '| failure | split | monolith |',
      '| --- | --- | --- |',
      `| stale read: GET without a token right after each of ${STALE_PROBES} writes | ${stale.split} missed their write | ${stale.monolith} missed their write |`,
      `| read side's updater stopped (projector killed), then a write and a read with its token (300 ms) | ${updater.split} | ${updater.monolith} (there is no updater) |`,
      `| write side's process killed (SIGKILL): a command, then a query | command: ${writer.split.commandAfter}; query: ${writer.split.queryAfter} (${splitQueryServed}) | command: ${writer.monolith.commandAfter}; query: ${writer.monolith.queryAfter} |`,
      `| … write model audit after the kill | ${writer.split.violations} violations | ${writer.monolith.violations} violations |`,
      '| duplicate delivery | the relay publishes at least once; the projector ignores an event by aggregate version (test/replay.test.ts replays the whole topic: nothing changes) | no delivery: the read is a join over the rows the command committed |',
      '',
      "Rules. CPU: utime+stime from /proc/<pid>/stat over the load window, summed over the wiring's service processes, the PostgreSQL backends connected to its database, and (split) the Redis server and the Kafka broker, which other work on this machine may also use. Processes: service processes, plus one each for PostgreSQL, Redis and Kafka where used. RSS: the same processes (PostgreSQL: its backends for this database). Connections: pg_stat_activity for the wiring's database after the load. Lines: non-blank, non-comment lines of the TypeScript files a wiring's processes load (static and dynamic imports followed from each start.ts through relative paths and @lab/* package exports; `import type` excluded) that the other wiring does not load, computed from the source at bench time (@lab/shared/testkit wiringCode).",
      '',
    ].join('\n');
    appendFileSync(join(import.meta.dirname, 'REPORT.md'), markdown);
    process.stdout.write(markdown);
    return 0;
  } finally {
    await stopAllStacks();
    for (const w of wirings) {
      await w.http.close();
      await w.pool.end();
      await releaseNamespace(w.stack.ns);
    }
  }
}
