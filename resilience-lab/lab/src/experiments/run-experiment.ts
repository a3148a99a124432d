import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@lab/shared/testkit';
import { startLab } from '../services.ts';
import { supplierAdmin, type SupplierAdmin } from '../client.ts';
import { analyse, type RawVariant, type StatusSample, type VariantResult } from './analysis.ts';
import { experimentDefinition, type ExperimentDefinition, type Variant } from './definitions.ts';
import { startLoad } from './load-generator.ts';
import { renderMarkdown, renderSvg } from './report.ts';

export interface ExperimentResult {
  experiment: string;
  question: string;
  quick: boolean;
  ranAt: string;
  durationS: number;
  faultStartS: number;
  faultEndS: number;
  schedule: { atS: number; label: string }[];
  ratePerSecond: { quotes: number; availability: number };
  clientTimeoutMs: number;
  variants: VariantResult[];
}

const DEFAULT_CLIENT_TIMEOUT_MS = 2000;

interface GatewayStatus {
  dependencies: Record<string, { inFlight: number; breaker: string }>;
  eventLoopDelayMs: { p99Ms: number };
  rssBytes: number;
}

async function readStatus(url: string): Promise<GatewayStatus | null> {
  try {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(800) });
    return (await res.json()) as GatewayStatus;
  } catch {
    return null;
  }
}

async function applyChaos(
  admin: SupplierAdmin,
  chaos: ExperimentDefinition['steps'][number]['chaos'],
) {
  await Promise.all(chaos.map((body) => admin.chaos(body)));
}

const pct = (v: number | null) => (v === null ? '  -' : `${Math.round(v * 100)}%`.padStart(4));

async function runVariant(
  def: ExperimentDefinition,
  variant: Variant,
  log: (line: string) => void,
  clientTimeoutMs: number,
): Promise<RawVariant> {
  const lab = await startLab({
    gatewayEnv: variant.gatewayEnv,
  });
  const admin = supplierAdmin(lab.supplier.url);
  try {
    await applyChaos(admin, [{ target: 'prices' }, { target: 'stock' }]);
    const [first, ...later] = def.steps;
    if (first) await applyChaos(admin, first.chaos);
    // Warm-up outside the measurement: JIT, connection pools and the fallback cache.
    for (let i = 0; i < 60; i += 1) {
      const route = i % 2 === 0 ? 'quotes' : 'availability';
      await fetch(`${lab.gateway.url}/${route}/sku-${i % 20}`).then((r) => r.arrayBuffer());
    }
    const load = startLoad({
      baseUrl: lab.gateway.url,
      ratePerSecond: def.ratePerSecond,
      durationMs: def.durationS * 1000,
      clientTimeoutMs,
      maxInFlight: 1000,
      skus: 20,
      idPrefix: variant.name,
    });
    const timers = later.map((step) =>
      setTimeout(() => {
        log(`[${variant.name}] t=${step.atS}s ${step.label}`);
        void applyChaos(admin, step.chaos);
      }, step.atS * 1000),
    );
    const status: StatusSample[] = [];
    let t = 0;
    const sampler = setInterval(() => {
      const second = t++;
      void readStatus(lab.gateway.url).then((s) => {
        const recent = load.samples.filter(
          (x) => Math.floor((x.scheduledAt - load.startedAt) / 1000) === second - 2,
        );
        const ok = (route: string) => {
          const r = recent.filter((x) => x.route === route);
          return r.length ? r.filter((x) => x.outcome === 'ok').length / r.length : null;
        };
        const inFlight = s
          ? {
              prices: s.dependencies.prices?.inFlight ?? 0,
              stock: s.dependencies.stock?.inFlight ?? 0,
            }
          : null;
        status.push({
          t: second,
          gatewayInFlight: inFlight,
          breaker: s?.dependencies.prices?.breaker ?? null,
          eventLoopDelayP99Ms: s?.eventLoopDelayMs.p99Ms ?? null,
          rssMb: s ? s.rssBytes / 1_048_576 : null,
          loadInFlight: load.inFlight(),
        });
        if (second >= 2 && second % 2 === 0)
          log(
            `[${variant.name}] t=${second}s  ok(t-2s): quotes ${pct(ok('quotes'))} availability ${pct(ok('availability'))}` +
              `  in-flight gw ${inFlight ? inFlight.prices + inFlight.stock : '?'} client ${load.inFlight()}` +
              `  breaker ${s?.dependencies.prices?.breaker ?? '?'}`,
          );
      });
    }, 1000);
    const samples = await load.finished();
    clearInterval(sampler);
    for (const timer of timers) clearTimeout(timer);
    // Let calls the gateway still has queued reach the supplier: that is the zombie work.
    await waitFor(
      'the supplier to drain',
      async () => {
        const counters = await admin.counters();
        return counters.prices.inFlight + counters.stock.inFlight === 0;
      },
      { timeoutMs: 3000, intervalMs: 100 },
    ).catch(() => undefined);
    const breakers = (await (await fetch(`${lab.gateway.url}/breakers`)).json()) as {
      prices: { transitions?: RawVariant['breakerTransitions'] };
    };
    return {
      name: variant.name,
      startedAt: load.startedAt,
      load: samples,
      status,
      supplierCalls: await admin.calls(),
      breakerTransitions: breakers.prices.transitions ?? [],
    };
  } finally {
    // SIGKILL: an unprotected gateway may still hold a queue of calls it would wait out.
    await Promise.all([lab.gateway.kill(), lab.supplier.kill()]);
  }
}

/** Runs every variant of one experiment through the same fault schedule and writes the report. */
export async function runExperiment(
  name: string,
  options: {
    quick: boolean;
    outDir: string;
    log?: (line: string) => void;
    /** How long a client waits; it also caps the latency the experiment can observe. */
    clientTimeoutMs?: number;
  },
): Promise<ExperimentResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const def = experimentDefinition(name, options.quick);
  const clientTimeoutMs = options.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
  log(`experiment ${def.name}${options.quick ? ' (quick)' : ''}: ${def.question}`);
  const variants: VariantResult[] = [];
  for (const variant of def.variants) {
    log(`--- variant ${variant.name}: PROTECTIONS=${variant.gatewayEnv.PROTECTIONS ?? 'all'}`);
    variants.push(analyse(def, await runVariant(def, variant, log, clientTimeoutMs)));
  }
  const result: ExperimentResult = {
    experiment: def.name,
    question: def.question,
    quick: options.quick,
    ranAt: new Date().toISOString(),
    durationS: def.durationS,
    faultStartS: def.faultStartS,
    faultEndS: def.faultEndS,
    schedule: def.steps.map((s) => ({ atS: s.atS, label: s.label })),
    ratePerSecond: def.ratePerSecond,
    clientTimeoutMs,
    variants,
  };
  mkdirSync(options.outDir, { recursive: true });
  const file = (ext: string) => join(options.outDir, `${def.name}.${ext}`);
  writeFileSync(file('json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(file('md'), renderMarkdown(result));
  writeFileSync(file('svg'), renderSvg(result));
  log(`wrote ${file('json')}, ${file('md')} and ${file('svg')}`);
  return result;
}
