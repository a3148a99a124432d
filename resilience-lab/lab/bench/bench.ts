import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import CircuitBreaker from 'opossum';
import { Agent, request } from 'undici';
import {
  cpuMsOf,
  forgetLeftover,
  mainThreadProfile,
  median as medianOrNull,
  percentile,
  PROFILE_READING,
  profileTable,
  rememberLeftover,
  roundRatio,
  summariseProfile,
  waitFor,
  type ProfiledService,
} from '@lab/shared/testkit';
import { runExperiment } from '../src/experiments/run-experiment.ts';
import { startLab } from '../src/services.ts';
import { supplierAdmin } from '../src/client.ts';
import { appendTaxReceipt } from './receipt.ts';

const benchDir = import.meta.dirname;
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Row {
  metric: string;
  /** Null when the run produced no measurement: printed as "–", and never met. */
  value: number | null;
  baseline: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
  unit: string;
}

const median = (values: number[]) => medianOrNull(values) ?? 0;

/** ns per call of `fn`, the median of several rounds so one GC pause does not decide it. */
async function nsPerOp(
  fn: () => Promise<unknown>,
  iterations: number,
  rounds = 5,
): Promise<number> {
  const results: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i += 1) await fn();
    results.push(Number(process.hrtime.bigint() - started) / iterations);
  }
  return median(results);
}

async function breakerOverhead() {
  const action = (n: number) => Promise.resolve(n + 1);
  const breaker = new CircuitBreaker(action, { timeout: false, volumeThreshold: 10 });
  const direct = await nsPerOp(() => action(1), 100_000);
  const fired = await nsPerOp(() => breaker.fire(1), 100_000);
  breaker.shutdown();
  return { direct, fired };
}

/**
 * Closed-loop load: `concurrency` clients for `ms`, counting 200s. The rate is over the time
 * the load really took, which runs past `ms` by the requests still answering at the deadline.
 */
async function closedLoad(
  url: string,
  ms: number,
  concurrency = 16,
): Promise<{ ok: number; perSecond: number }> {
  const agent = new Agent({ connections: concurrency });
  const started = performance.now();
  const until = Date.now() + ms;
  let ok = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; Date.now() < until; i += 1) {
        const res = await request(`${url}/availability/sku-${(worker * 31 + i) % 50}`, {
          dispatcher: agent,
        });
        await res.body.dump();
        if (res.statusCode === 200) ok += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await agent.close();
  return { ok, perSecond: ok / elapsed };
}

/** Closed-loop throughput: `concurrency` clients for `ms`, 200s per second. */
async function throughput(url: string, ms: number, concurrency = 16): Promise<number> {
  return (await closedLoad(url, ms, concurrency)).perSecond;
}

const THROUGHPUT_ROUNDS = 5;
const MAX_WARM_ROUNDS = 6;

/**
 * Unrecorded throughput rounds against each URL in turn until each has once run within 10% of
 * its previous round's rate (at most MAX_WARM_ROUNDS): a warm process, not a fixed count of
 * rounds that a slower machine would not finish warming in. Returns the rounds it took.
 */
async function warmUp(urls: string[]): Promise<number> {
  const last = new Map<string, number>();
  const settled = new Set<string>();
  for (let round = 1; round <= MAX_WARM_ROUNDS; round += 1) {
    for (const url of urls.filter((u) => !settled.has(u))) {
      const rate = await throughput(url, 3000);
      const previous = last.get(url);
      if (previous !== undefined && Math.abs(rate - previous) <= previous * 0.1) settled.add(url);
      last.set(url, rate);
    }
    if (settled.size === urls.length) return round;
  }
  return MAX_WARM_ROUNDS;
}

async function httpOverhead() {
  // A second gateway without the breaker is the control: two processes running the same code
  // differ by a few percent, and the breaker's row means something only beside that spread.
  const [bare, twin, guarded] = await Promise.all([
    startLab({ gatewayEnv: { PROTECTIONS: 'none' } }),
    startLab({ gatewayEnv: { PROTECTIONS: 'none' } }),
    startLab({ gatewayEnv: { PROTECTIONS: 'breaker' } }),
  ]);
  try {
    const without: number[] = [];
    const withBreaker: number[] = [];
    const control: number[] = [];
    // Unrecorded rounds of each first, until both rates settle: V8 keeps optimising the hot
    // path (and the supplier's) for several thousand requests, so one 3 s round left the first
    // measured rounds at about 60% of the warm rate, and a cold round measures the compiler,
    // not the breaker.
    const warmRounds = await warmUp([bare.gateway.url, twin.gateway.url, guarded.gateway.url]);
    say(`  warm after up to ${warmRounds} unrecorded rounds of each gateway`);
    // Alternating rounds, each starting with the side the last one ended with, so machine noise
    // and drift fall on every side alike; the ratio is taken within each round.
    for (let round = 0; round < THROUGHPUT_ROUNDS; round += 1) {
      const sides = [
        () => throughput(bare.gateway.url, 3000).then((rate) => without.push(rate)),
        () => throughput(guarded.gateway.url, 3000).then((rate) => withBreaker.push(rate)),
        () => throughput(twin.gateway.url, 3000).then((rate) => control.push(rate)),
      ];
      for (const side of round % 2 === 0 ? sides : sides.toReversed()) await side();
      say(
        `  round ${round + 1}: ${Math.round(without.at(-1) ?? 0)} req/s without, ${Math.round(withBreaker.at(-1) ?? 0)} with the breaker, ${Math.round(control.at(-1) ?? 0)} on the control without`,
      );
    }
    return {
      without: median(without),
      withBreaker: median(withBreaker),
      control: median(control),
      ratio: roundRatio(withBreaker, without) ?? 0,
      controlRatio: roundRatio(control, without) ?? 0,
      warmRounds,
    };
  } finally {
    await Promise.all([bare.stop(), twin.stop(), guarded.stop()]);
  }
}

async function failFast() {
  const lab = await startLab({
    gatewayEnv: {
      PROTECTIONS: 'breaker',
      BREAKER_VOLUME_THRESHOLD: '5',
      BREAKER_RESET_TIMEOUT_MS: '600000',
    },
  });
  try {
    await supplierAdmin(lab.supplier.url).chaos({ target: 'prices', faults: { error: 1 } });
    await waitFor('the breaker to open', async () => {
      await fetch(`${lab.gateway.url}/quotes/x`).then((r) => r.arrayBuffer());
      const b = (await (await fetch(`${lab.gateway.url}/breakers`)).json()) as {
        prices: { state: string };
      };
      return b.prices.state === 'open';
    });
    const agent = new Agent({ connections: 1 });
    const measure = async (path: string, n: number) => {
      const latencies: number[] = [];
      for (let i = 0; i < n; i += 1) {
        const started = process.hrtime.bigint();
        const res = await request(`${lab.gateway.url}${path}`, { dispatcher: agent });
        await res.body.dump();
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      return latencies;
    };
    // Both paths warmed first, so neither is measured while V8 still compiles it; then blocks
    // of each in turn, so a noisy second of the machine falls on both.
    await measure('/status', 500);
    await measure('/quotes/x', 500);
    const open: number[] = [];
    const local: number[] = [];
    for (let block = 0; block < 4; block += 1) {
      open.push(...(await measure('/quotes/x', 250)));
      local.push(...(await measure('/status', 250)));
    }
    await agent.close();
    return {
      openP50: percentile(open, 50) ?? 0,
      openP99: percentile(open, 99) ?? 0,
      localP50: percentile(local, 50) ?? 0,
      localP99: percentile(local, 99) ?? 0,
    };
  } finally {
    await lab.stop();
  }
}

const PROFILE_MS = 3000;

/**
 * Where the gateway's CPU goes while every protection is on and the supplier is healthy: the
 * gateway under `node --cpu-prof`, the throughput load for a few seconds, stopped (V8 writes
 * the profile at exit) and summarised.
 */
async function gatewayProfile(): Promise<ProfiledService> {
  let dir: string | undefined;
  let leftover: number | undefined;
  let lab: Awaited<ReturnType<typeof startLab>> | undefined;
  try {
    // In the try, with the lab's start: a start that fails must not leave the directory. Listed
    // as a leftover too, for a Ctrl-C, which ends the bench through process.exit (the test
    // kit's signal handler) and so runs no finally block; the leftovers' watcher deletes it.
    dir = mkdtempSync(join(tmpdir(), 'resilience-bench-gateway-'));
    leftover = rememberLeftover({ remove: dir });
    lab = await startLab({
      gatewayEnv: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` },
    });
    const cpuBefore = cpuMsOf(lab.gateway.pid);
    const requests = (await closedLoad(lab.gateway.url, PROFILE_MS)).ok;
    const cpuMs = cpuMsOf(lab.gateway.pid) - cpuBefore;
    await lab.gateway.stop();
    const file = mainThreadProfile(dir);
    if (!file) throw new Error('no CPU profile was written for the gateway');
    return {
      label: 'gateway (every protection, GET /availability)',
      units: requests,
      summary: summariseProfile(file, 'resilience-lab'),
      cpuMs,
    };
  } finally {
    await lab?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    forgetLeftover(leftover);
  }
}

/** How much slower than a local route an open breaker's answer may be and still fail fast. */
const FAIL_FAST_MAX_RATIO = 1.5;

export async function bench(): Promise<number> {
  const rows: Row[] = [];
  say('bench 1/5: opossum fire() against a direct call');
  const inProcess = await breakerOverhead();
  rows.push({
    metric: 'breaker overhead per call (in process)',
    value: inProcess.fired,
    baseline: inProcess.direct,
    ratio: inProcess.fired / inProcess.direct,
    target: 'reported (absolute ns/op)',
    met: null,
    unit: 'ns/op',
  });
  rows.push({
    metric: 'breaker cost per call (fire − direct)',
    value: inProcess.fired - inProcess.direct,
    baseline: null,
    ratio: null,
    target: 'reported',
    met: null,
    unit: 'ns/op',
  });

  say('bench 2/5: gateway throughput on a healthy supplier, with and without the breaker');
  const http = await httpOverhead();
  rows.push({
    metric: 'gateway throughput with breaker',
    value: http.withBreaker,
    baseline: http.without,
    ratio: http.ratio,
    target: '≤ 5% loss (ratio ≥ 0.95)',
    met: http.ratio >= 0.95,
    unit: 'req/s',
  });
  rows.push({
    metric: 'control: a second gateway without the breaker',
    value: http.control,
    baseline: http.without,
    ratio: http.controlRatio,
    target: 'reported: the spread between two processes running the same code',
    met: null,
    unit: 'req/s',
  });

  say('bench 3/5: fail-fast latency while the breaker is open');
  const fast = await failFast();
  rows.push({
    metric: 'fail-fast p50 while open (HTTP round trip)',
    value: fast.openP50,
    baseline: fast.localP50,
    ratio: fast.openP50 / fast.localP50,
    // A ratio to a local route, not a fixed number of ms, and at the median: an open breaker is
    // fast when it answers like a route that calls nothing, and a rejection that waited on
    // anything would show in every call, the median included.
    target: `≤ ${FAIL_FAST_MAX_RATIO}× the local route's`,
    met: fast.openP50 <= fast.localP50 * FAIL_FAST_MAX_RATIO,
    unit: 'ms',
  });
  rows.push({
    metric: 'fail-fast p99 while open (HTTP round trip)',
    value: fast.openP99,
    baseline: fast.localP99,
    ratio: fast.openP99 / fast.localP99,
    // The slowest 1% of sequential loopback round trips is the machine's scheduling: the local
    // route's own p99 ranged 1.2-3.2 ms between runs on one 2-core machine, several times its
    // median.
    target: 'reported',
    met: null,
    unit: 'ms',
  });

  say('bench 4/5: where the gateway spends its CPU, sampled by V8');
  const profile = await gatewayProfile();

  say('bench 5/5: cascade experiment (quick)');
  // A long client timeout, so the unprotected p99 is measured rather than cut off at 2 s.
  const cascade = await runExperiment('cascade', {
    quick: true,
    outDir: join(benchDir, 'results'),
    clientTimeoutMs: 10_000,
  });
  for (const variant of cascade.variants) {
    const h = variant.headline;
    const isProtected = variant.name === 'protected';
    // A phase with no /availability samples has no p99 and no ratio: a missing measurement is
    // shown as missing and meets no target (read as 0 it would pass "≤ 2× healthy").
    const ratio = h.availabilityP99Ratio;
    rows.push({
      metric: `/availability p99 during the slow-prices fault, ${variant.name}`,
      value: h.availabilityP99DuringFaultMs,
      baseline: h.availabilityP99BeforeMs,
      ratio,
      target: isProtected ? '≤ 2× healthy' : '≥ 10× healthy',
      met: ratio !== null && (isProtected ? ratio <= 2 : ratio >= 10),
      unit: 'ms',
    });
    const success = h.availabilitySuccessDuringFault;
    rows.push({
      metric: `/availability success during the fault, ${variant.name}`,
      value: success === null ? null : success * 100,
      baseline: null,
      ratio: null,
      target: isProtected ? '≥ 99%' : 'reported',
      met: isProtected ? success !== null && success >= 0.99 : null,
      unit: '%',
    });
  }

  const fmt = (v: number | null, unit = '') =>
    v === null ? '–' : `${v >= 100 ? Math.round(v) : v.toFixed(2)}${unit ? ` ${unit}` : ''}`;
  const report = [
    '## Resilience lab',
    '',
    `Run ${new Date().toISOString()} on ${process.platform}/${process.arch} (${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM), Node ${process.version}. Baselines are measured in the same run.`,
    '',
    '| metric | value | baseline | ratio | target | met? |',
    '| --- | --- | --- | --- | --- | --- |',
    // Ratios to three places: a ratio of 0.947 printed as 0.95 beside a target of 0.95 and a "no"
    // reads as a contradiction.
    ...rows.map(
      (r) =>
        `| ${r.metric} | ${fmt(r.value, r.unit)} | ${fmt(r.baseline, r.unit)} | ${r.ratio === null ? '–' : r.ratio.toFixed(3)} | ${r.target} | ${r.met === null ? '–' : r.met ? 'yes' : 'no'} |`,
    ),
    '',
    `Throughput is closed-loop (16 clients, /availability, ${THROUGHPUT_ROUNDS} rounds of 3 s on each of three gateways, without the breaker, with it, and a second one without it as the control, in that order and reversed every other round, after up to ${http.warmRounds} unrecorded warm-up rounds of each, a gateway's warm-up ending once its rate moved by at most 10% from its previous round (or after ${MAX_WARM_ROUNDS} rounds); medians; each ratio is the median of the ratios within a round). Fail-fast latency is`,
    'the client-observed HTTP round trip of 1000 sequential /quotes calls while the prices breaker is open, after 500 unrecorded calls of each path and in blocks of 250 alternating with the baseline; its baseline',
    'is GET /status, a local route, so the ratio isolates the cost of the breaker path from HTTP itself. The cascade rows',
    'come from `experiment cascade --quick` with a 10 s client timeout (bench/results/cascade.md and .svg, not committed).',
    '',
    '### Where the time goes',
    '',
    `A V8 CPU profile (\`node --cpu-prof\`) of the gateway with every protection on, under ${PROFILE_MS / 1000} s of the throughput load above against a healthy supplier. ${PROFILE_READING} The breaker's row is opossum's own work; the HTTP client's row is the call to the supplier, its socket write apart.`,
    '',
    ...profileTable([profile], {
      name: 'request',
      format: (ms) => `${(ms * 1000).toFixed(0)} µs`,
    }),
    '',
  ].join('\n');
  writeFileSync(
    join(benchDir, 'results.json'),
    `${JSON.stringify(
      {
        ranAt: new Date().toISOString(),
        rows,
        profile: {
          service: profile.label,
          // The kernel's count (/proc) and the profile's busy samples, as in REPORT.md's table.
          cpuUsPerRequest: Math.round((profile.cpuMs * 1000) / profile.units),
          profiledUsPerRequest: Math.round((profile.summary.busyMs * 1000) / profile.units),
          shares: profile.summary.shares,
        },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(benchDir, 'REPORT.md'), report);
  say(report);
  say('bench: tax receipt, over HTTP against in-process');
  return appendTaxReceipt();
}
