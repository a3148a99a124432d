import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import CircuitBreaker from 'opossum';
import { Agent, request } from 'undici';
import {
  cpuMsOf,
  mainThreadProfile,
  percentile,
  PROFILE_READING,
  profileTable,
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
  value: number;
  baseline: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
  unit: string;
}

const median = (values: number[]) => percentile(values, 50) ?? 0;

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

/** Closed-loop throughput: `concurrency` clients for `ms`, counting 200s per second. */
async function throughput(url: string, ms: number, concurrency = 16): Promise<number> {
  const agent = new Agent({ connections: concurrency });
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
  await agent.close();
  return ok / (ms / 1000);
}

async function httpOverhead() {
  const [bare, guarded] = await Promise.all([
    startLab({ gatewayEnv: { PROTECTIONS: 'none' } }),
    startLab({ gatewayEnv: { PROTECTIONS: 'breaker' } }),
  ]);
  try {
    const without: number[] = [];
    const withBreaker: number[] = [];
    // A full unrecorded round of each first: a gateway measured cold measures V8 compiling its
    // hot path (a breaker adds code to it), not the gateway.
    await throughput(bare.gateway.url, 3000);
    await throughput(guarded.gateway.url, 3000);
    // Alternating rounds, each starting with the side the last one ended with, so machine noise
    // and drift fall on both sides alike; the ratio is taken within each round.
    for (let round = 0; round < 3; round += 1) {
      const order =
        round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
      for (const side of order)
        if (side === 'without') without.push(await throughput(bare.gateway.url, 3000));
        else withBreaker.push(await throughput(guarded.gateway.url, 3000));
      say(
        `  round ${round + 1}: ${Math.round(without.at(-1) ?? 0)} req/s without, ${Math.round(withBreaker.at(-1) ?? 0)} with the breaker`,
      );
    }
    return {
      without: median(without),
      withBreaker: median(withBreaker),
      ratio: roundRatio(withBreaker, without) ?? 0,
    };
  } finally {
    await Promise.all([bare.stop(), guarded.stop()]);
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
    await measure('/status', 200);
    const open = await measure('/quotes/x', 1000);
    const local = await measure('/status', 1000);
    await agent.close();
    return {
      openP99: percentile(open, 99) ?? 0,
      openP50: percentile(open, 50) ?? 0,
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
  const dir = mkdtempSync(join(tmpdir(), 'resilience-bench-gateway-'));
  const lab = await startLab({
    gatewayEnv: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` },
  });
  try {
    const cpuBefore = cpuMsOf(lab.gateway.pid);
    const requests = Math.round(
      (await throughput(lab.gateway.url, PROFILE_MS)) * (PROFILE_MS / 1000),
    );
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
    await lab.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

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

  say('bench 3/5: fail-fast latency while the breaker is open');
  const fast = await failFast();
  rows.push({
    metric: 'fail-fast p99 while open (HTTP round trip)',
    value: fast.openP99,
    baseline: fast.localP99,
    ratio: fast.openP99 / fast.localP99,
    target: 'p99 ≤ 2 ms',
    met: fast.openP99 <= 2,
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
    const ratio = h.availabilityP99Ratio ?? 0;
    rows.push({
      metric: `/availability p99 during the slow-prices fault, ${variant.name}`,
      value: h.availabilityP99DuringFaultMs ?? 0,
      baseline: h.availabilityP99BeforeMs,
      ratio,
      target: isProtected ? '≤ 2× healthy' : '≥ 10× healthy',
      met: isProtected ? ratio <= 2 : ratio >= 10,
      unit: 'ms',
    });
    rows.push({
      metric: `/availability success during the fault, ${variant.name}`,
      value: (h.availabilitySuccessDuringFault ?? 0) * 100,
      baseline: null,
      ratio: null,
      target: isProtected ? '≥ 99%' : 'reported',
      met: isProtected ? (h.availabilitySuccessDuringFault ?? 0) >= 0.99 : null,
      unit: '%',
    });
  }

  const fmt = (v: number | null, unit = '') =>
    v === null ? '–' : `${v >= 100 ? Math.round(v) : v.toFixed(2)}${unit ? ` ${unit}` : ''}`;
  const report = [
    '## Resilience lab',
    '',
    `Run ${new Date().toISOString()} on ${process.platform}/${process.arch}, Node ${process.version}. Baselines are measured in the same run.`,
    '',
    '| metric | value | baseline | ratio | target | met? |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.metric} | ${fmt(r.value, r.unit)} | ${fmt(r.baseline, r.unit)} | ${fmt(r.ratio)} | ${r.target} | ${r.met === null ? '–' : r.met ? 'yes' : 'no'} |`,
    ),
    '',
    'Throughput is closed-loop (16 clients, /availability, 3 alternating rounds of 3 s after an unrecorded warm-up round of each, medians; the ratio is the median of the ratios within a round). Fail-fast latency is',
    'the client-observed HTTP round trip of 1000 sequential /quotes calls while the prices breaker is open; its baseline',
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
