import type { ConsoleConfig } from '../config.ts';
import { callWithin, poll, prune } from './http.ts';

interface BreakerSnapshot {
  state: 'closed' | 'open' | 'half-open' | 'disabled';
  options?: {
    errorThresholdPercentage: number;
    volumeThreshold: number;
    rollingCountTimeout: number;
    resetTimeout: number;
  };
  stats?: {
    fires: number;
    successes: number;
    failures: number;
    timeouts: number;
    rejects: number;
  };
  transitions?: Transition[];
}

interface Transition {
  at: number;
  from: string;
  to: string;
  reason: string;
}

interface GatewayStatus {
  /** When the gateway process began (ms since the epoch); a new value means it was restarted. */
  startedAt: number;
  retryBudgetTokens: number | null;
  /** The gateway's pool of connections to the supplier; null in-process (`up --monolith`). */
  pool: unknown;
  dependencies: Record<
    string,
    { inFlight: number; bulkhead: { active: number; queued: number } | null }
  >;
}

interface ProbeSample {
  at: number;
  quotes: number | null;
  availability: number | null;
  quotesStatus: number | null;
  availabilityStatus: number | null;
}

export const SUPPLIER_FAULTS = ['error', 'hang', 'reset', 'down'] as const;
export const SUPPLIER_TARGETS = ['prices', 'stock'] as const;

/** History kept beyond the breaker's own rolling window, so an opening can still be read later. */
const KEEP_TRANSITIONS_MS = 10 * 60_000;
const KEEP_LATENCY_MS = 2 * 60_000;
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Why a breaker is where it is, in the terms opossum decides by: the failure rate over the
 * calls in the rolling window, against the threshold, once the window holds enough calls.
 */
export function decisionOf(snapshot: BreakerSnapshot, now: number): string {
  const { options, stats } = snapshot;
  if (snapshot.state === 'disabled' || !options || !stats) return 'no breaker on this route';
  const rate = stats.fires === 0 ? 0 : Math.round((stats.failures / stats.fires) * 100);
  const window = `${options.rollingCountTimeout / 1000} s window`;
  if (snapshot.state === 'open') {
    const opened = [...(snapshot.transitions ?? [])].reverse().find((t) => t.to === 'open');
    const inS = opened
      ? Math.max(0, Math.ceil((opened.at + options.resetTimeout - now) / 1000))
      : undefined;
    return `open: ${opened?.reason ?? 'tripped'}; calls fail fast; half-open in ${inS ?? '?'} s`;
  }
  if (snapshot.state === 'half-open')
    return 'half-open: the reset timeout elapsed; one probe call decides: success closes, failure re-opens';
  const rateOp = rate > options.errorThresholdPercentage ? '>' : '<=';
  const volumeOp = stats.fires >= options.volumeThreshold ? '>=' : '<';
  const trips = rate > options.errorThresholdPercentage && stats.fires >= options.volumeThreshold;
  return (
    `failure rate ${rate}% ${rateOp} ${options.errorThresholdPercentage}% over ${stats.fires} calls ` +
    `${volumeOp} volume ${options.volumeThreshold} (${window}) -> ${trips ? 'opens' : 'stays closed'}`
  );
}

/**
 * Watches the resilience lab: the gateway's breakers, bulkheads and retry budget, the
 * supplier's active faults, and (when switched on) a steady trickle of traffic to /quotes and
 * /availability whose latencies draw the cascade, or its absence under protection.
 */
export function resilienceWatch(config: ConsoleConfig) {
  const call = callWithin(config.CONSOLE_ACTION_TIMEOUT_MS);
  const gateway = config.CONSOLE_RESILIENCE_GATEWAY_URL;
  const supplier = config.CONSOLE_RESILIENCE_SUPPLIER_URL;
  const transitions = new Map<string, (Transition & { breaker: string })[]>();
  const samples: ProbeSample[] = [];
  let traffic: { perSecond: number; timer: NodeJS.Timeout } | undefined;
  let latest: Record<string, unknown> = { up: false };
  let gatewayStartedAt: number | undefined;
  // The in-process wiring has no supplier of its own: its chaos is the gateway's.
  let inProcess = false;
  const chaosUrl = () => `${inProcess ? gateway : supplier}/_chaos`;

  const probe = (sample: ProbeSample, route: 'quotes' | 'availability') => {
    const started = performance.now();
    call('GET', `${gateway}/${route}/sku-1`, { timeoutMs: PROBE_TIMEOUT_MS }).then(
      (answer) => {
        sample[route] = Math.round(answer.ms);
        sample[`${route}Status`] = answer.status;
      },
      () => {
        sample[route] = Math.round(performance.now() - started);
        sample[`${route}Status`] = 0;
      },
    );
  };

  const refresh = async () => {
    const now = Date.now();
    const [breakers, status, chaos] = await Promise.all([
      poll<Record<string, BreakerSnapshot>>(`${gateway}/breakers`),
      poll<GatewayStatus>(`${gateway}/status`),
      poll<{ rules: Record<string, unknown> }>(chaosUrl()),
    ]);
    if (status) inProcess = status.pool === null;
    // A restarted gateway is a new process whose breakers start closed with no history; the
    // history kept here says so, or its last entry would claim a breaker is still open.
    if (status && gatewayStartedAt !== undefined && status.startedAt !== gatewayStartedAt)
      for (const [name, seen] of transitions) {
        const last = seen.at(-1);
        if (last)
          seen.push({
            at: status.startedAt,
            from: last.to,
            to: 'closed',
            reason: 'the gateway restarted: a new process starts every breaker closed',
            breaker: name,
          });
      }
    if (status) gatewayStartedAt = status.startedAt;
    for (const [name, snapshot] of Object.entries(breakers ?? {})) {
      const seen = transitions.get(name) ?? [];
      for (const t of snapshot.transitions ?? [])
        if (!seen.some((s) => s.at === t.at && s.to === t.to)) seen.push({ ...t, breaker: name });
      seen.sort((a, b) => a.at - b.at);
      prune(seen, KEEP_TRANSITIONS_MS, now);
      transitions.set(name, seen);
    }
    prune(samples, KEEP_LATENCY_MS, now);
    latest = {
      up: breakers !== undefined,
      gatewayUrl: gateway,
      supplierUrl: supplier,
      // `up --monolith`: the supplier is a module called in-process, so only the faults a
      // function call can have apply (error, hang); its faults are the gateway's /_chaos.
      inProcess,
      // Unknown while the gateway itself does not answer; the page then says the lab is down.
      supplierUp: status === undefined ? null : chaos !== undefined,
      traffic: traffic ? { on: true, perSecond: traffic.perSecond } : { on: false },
      retryBudgetTokens:
        status?.retryBudgetTokens == null ? null : Math.floor(status.retryBudgetTokens * 10) / 10,
      breakers: Object.entries(breakers ?? {}).map(([name, snapshot]) => {
        const history = transitions.get(name) ?? [];
        const last = history.at(-1);
        return {
          name,
          state: snapshot.state,
          inStateMs: last ? now - last.at : null,
          decision: decisionOf(snapshot, now),
          counts: snapshot.stats && {
            fires: snapshot.stats.fires,
            successes: snapshot.stats.successes,
            failures: snapshot.stats.failures,
            timeouts: snapshot.stats.timeouts,
            rejects: snapshot.stats.rejects,
          },
          thresholds: snapshot.options ?? null,
          bulkhead: status?.dependencies[name]?.bulkhead ?? null,
          inFlight: status?.dependencies[name]?.inFlight ?? null,
          transitions: [...history].reverse(),
        };
      }),
      faults: chaos?.rules ?? null,
      latency: samples.map((s) => ({ ...s })),
    };
  };

  return {
    refresh,
    snapshot: () => latest,
    setTraffic: (perSecond: number) => {
      if (traffic) clearInterval(traffic.timer);
      traffic = undefined;
      if (perSecond === 0) return;
      const timer = setInterval(() => {
        const sample: ProbeSample = {
          at: Date.now(),
          quotes: null,
          availability: null,
          quotesStatus: null,
          availabilityStatus: null,
        };
        samples.push(sample);
        probe(sample, 'quotes');
        probe(sample, 'availability');
      }, 1000 / perSecond);
      timer.unref();
      traffic = { perSecond, timer };
    },
    injectFault: (
      target: (typeof SUPPLIER_TARGETS)[number],
      fault: (typeof SUPPLIER_FAULTS)[number],
    ) => call('POST', chaosUrl(), { body: { target, faults: { [fault]: 1 } } }),
    clearFaults: () => call('DELETE', chaosUrl()),
    stop: () => {
      if (traffic) clearInterval(traffic.timer);
      traffic = undefined;
    },
  };
}
