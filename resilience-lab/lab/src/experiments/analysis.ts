import { percentile } from '@lab/shared/testkit';
import type { SupplierCall } from '../client.ts';
import type { ExperimentDefinition } from './definitions.ts';
import type { LoadRoute, LoadSample } from './load-generator.ts';

export interface StatusSample {
  t: number;
  gatewayInFlight: { prices: number; stock: number } | null;
  breaker: string | null;
  eventLoopDelayP99Ms: number | null;
  rssMb: number | null;
  loadInFlight: number;
}

export interface RawVariant {
  name: string;
  startedAt: number;
  load: LoadSample[];
  status: StatusSample[];
  supplierCalls: SupplierCall[];
  breakerTransitions: { at: number; to: string; reason: string }[];
}

export interface RouteSecond {
  sent: number;
  successRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface Second {
  t: number;
  quotes: RouteSecond;
  availability: RouteSecond;
  cacheShare: number | null;
  gatewayInFlight: number | null;
  loadInFlight: number | null;
  eventLoopDelayP99Ms: number | null;
  rssMb: number | null;
  breaker: string | null;
}

export interface PhaseSummary {
  phase: 'before' | 'fault' | 'after';
  route: LoadRoute;
  requests: number;
  successRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Failed requests by cause: HTTP status, client-timeout, error or dropped. */
  failures: Record<string, number>;
}

export interface Headline {
  availabilitySuccessDuringFault: number | null;
  quotesSuccessDuringFault: number | null;
  availabilityP99BeforeMs: number | null;
  availabilityP99DuringFaultMs: number | null;
  availabilityP99Ratio: number | null;
  maxGatewayInFlight: number;
  maxLoadInFlight: number;
  maxEventLoopDelayP99Ms: number;
  maxRssMb: number;
  timeToOpenMs: number | null;
  timeToRecoverS: number | null;
  retryAmplification: number;
  /** Price calls per quote sent during the fault. */
  pricesAmplification: number;
  zombieCalls: number;
  zombieWorkMs: number;
  breakerOpens: number;
  /** p99 of (fired − scheduled): above ~50 ms the machine, not the gateway, shaped the figures. */
  generatorLagP99Ms: number;
}

export interface VariantResult {
  name: string;
  headline: Headline;
  phases: PhaseSummary[];
  seconds: Second[];
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : part / whole);

function routeStats(samples: LoadSample[]): RouteSecond {
  const latencies = samples.map((s) => s.latencyMs);
  return {
    sent: samples.length,
    successRate: ratio(samples.filter((s) => s.outcome === 'ok').length, samples.length),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** Turns raw samples into per-second series, per-phase tables and the overall headline. */
export function analyse(def: ExperimentDefinition, raw: RawVariant): VariantResult {
  const secondOf = (at: number) => Math.floor((at - raw.startedAt) / 1000);
  const faultStart = raw.startedAt + def.faultStartS * 1000;
  const faultEnd = raw.startedAt + def.faultEndS * 1000;
  const seconds: Second[] = [];
  for (let t = 0; t < def.durationS; t += 1) {
    const inSecond = raw.load.filter((s) => secondOf(s.scheduledAt) === t);
    const quotes = inSecond.filter((s) => s.route === 'quotes');
    const status = raw.status.find((s) => s.t === t);
    const okQuotes = quotes.filter((s) => s.outcome === 'ok');
    seconds.push({
      t,
      quotes: routeStats(quotes),
      availability: routeStats(inSecond.filter((s) => s.route === 'availability')),
      cacheShare: ratio(okQuotes.filter((s) => s.source === 'cache').length, okQuotes.length),
      gatewayInFlight: status?.gatewayInFlight
        ? status.gatewayInFlight.prices + status.gatewayInFlight.stock
        : null,
      loadInFlight: status?.loadInFlight ?? null,
      eventLoopDelayP99Ms: status?.eventLoopDelayP99Ms ?? null,
      rssMb: status?.rssMb ?? null,
      breaker: status?.breaker ?? null,
    });
  }

  const phaseOf = (s: LoadSample) =>
    s.scheduledAt < faultStart ? 'before' : s.scheduledAt < faultEnd ? 'fault' : 'after';
  const phases: PhaseSummary[] = [];
  for (const phase of ['before', 'fault', 'after'] as const)
    for (const route of ['quotes', 'availability'] as const) {
      const inPhase = raw.load.filter((s) => s.route === route && phaseOf(s) === phase);
      const stats = routeStats(inPhase);
      const failures: Record<string, number> = {};
      for (const s of inPhase) {
        if (s.outcome === 'ok') continue;
        const cause =
          s.outcome === 'http-error' ? `${s.status}${s.code ? ` ${s.code}` : ''}` : s.outcome;
        failures[cause] = (failures[cause] ?? 0) + 1;
      }
      phases.push({ phase, route, requests: stats.sent, ...stats, failures });
    }
  const phase = (p: string, r: LoadRoute) => phases.find((x) => x.phase === p && x.route === r);

  const opened = raw.breakerTransitions.find((tr) => tr.to === 'open' && tr.at >= faultStart);
  const recovered = seconds.find(
    (s) =>
      s.t >= def.faultEndS &&
      (s.quotes.successRate ?? 0) >= 0.95 &&
      (s.availability.successRate ?? 0) >= 0.95 &&
      (s.cacheShare ?? 0) <= 0.05,
  );

  // Zombie work: supplier time spent on requests whose client had already given up.
  const gaveUp = new Map(raw.load.filter((s) => s.gaveUpAt).map((s) => [s.id, s.gaveUpAt ?? 0]));
  const collectedAt = Math.max(...raw.supplierCalls.map((c) => c.endedAt ?? c.startedAt), 0);
  let zombieCalls = 0;
  let zombieWorkMs = 0;
  for (const call of raw.supplierCalls) {
    const abandonedAt = call.requestId ? gaveUp.get(call.requestId) : undefined;
    if (abandonedAt === undefined) continue;
    const end = call.endedAt ?? collectedAt;
    const wasted = end - Math.max(call.startedAt, abandonedAt);
    if (wasted > 0) {
      zombieCalls += 1;
      zombieWorkMs += wasted;
    }
  }

  const sent = raw.load.filter((s) => s.outcome !== 'dropped');
  // Only supplier calls made for the measured load (the warm-up is not part of the experiment).
  const loadIds = new Set(raw.load.map((s) => s.id));
  const measuredCalls = raw.supplierCalls.filter((c) => c.requestId && loadIds.has(c.requestId));
  // The quotes sent while the fault was on: what a retry policy does to a failing dependency
  // shows there, undiluted by the healthy phases around it.
  const faultQuotes = new Set(
    sent.filter((s) => s.route === 'quotes' && phaseOf(s) === 'fault').map((s) => s.id),
  );
  const before = phase('before', 'availability')?.p99Ms ?? null;
  const during = phase('fault', 'availability')?.p99Ms ?? null;
  const max = (values: (number | null)[]) =>
    Math.max(0, ...values.filter((v): v is number => v !== null));
  return {
    name: raw.name,
    phases,
    seconds,
    headline: {
      availabilitySuccessDuringFault: phase('fault', 'availability')?.successRate ?? null,
      quotesSuccessDuringFault: phase('fault', 'quotes')?.successRate ?? null,
      availabilityP99BeforeMs: before,
      availabilityP99DuringFaultMs: during,
      availabilityP99Ratio: before && during !== null ? during / before : null,
      maxGatewayInFlight: max(seconds.map((s) => s.gatewayInFlight)),
      maxLoadInFlight: max(seconds.map((s) => s.loadInFlight)),
      maxEventLoopDelayP99Ms: max(seconds.map((s) => s.eventLoopDelayP99Ms)),
      maxRssMb: max(seconds.map((s) => s.rssMb)),
      timeToOpenMs: opened ? opened.at - faultStart : null,
      timeToRecoverS: recovered ? recovered.t - def.faultEndS : null,
      retryAmplification: sent.length === 0 ? 0 : measuredCalls.length / sent.length,
      pricesAmplification:
        faultQuotes.size === 0
          ? 0
          : measuredCalls.filter(
              (c) => c.route === 'prices' && c.requestId && faultQuotes.has(c.requestId),
            ).length / faultQuotes.size,
      zombieCalls,
      zombieWorkMs,
      breakerOpens: raw.breakerTransitions.filter((tr) => tr.to === 'open').length,
      generatorLagP99Ms:
        percentile(
          raw.load.map((s) => s.firedAt - s.scheduledAt),
          99,
        ) ?? 0,
    },
  };
}
