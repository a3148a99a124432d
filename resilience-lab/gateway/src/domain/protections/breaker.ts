import CircuitBreaker from 'opossum';
import type { Logger } from '@lab/shared/logging';
import { SupplierFailure } from '../../data-access/supplier.client.ts';
import { gatewayMetrics } from '../../infrastructure/gateway-metrics.ts';

export interface BreakerOptions {
  errorThresholdPercentage: number;
  volumeThreshold: number;
  rollingCountTimeout: number;
  rollingCountBuckets: number;
  resetTimeout: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface Transition {
  at: number;
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

/** How many recent transitions `/breakers` lists; older ones are only counted. */
const MAX_TRANSITIONS_KEPT = 100;

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export const isBreakerOpen = (error: unknown) =>
  (error as { code?: unknown } | undefined)?.code === 'EOPENBREAKER';

/**
 * An opossum breaker around one supplier attempt. Closed: calls pass and outcomes are counted
 * in a rolling window. Once at least `volumeThreshold` calls are in the window and the failure
 * rate exceeds the threshold, it opens: calls fail fast without touching the supplier, which
 * gets room to recover. After `resetTimeout` it goes half-open and lets one probe through:
 * success closes it, failure opens it again.
 */
export function createBreaker<A extends unknown[], R>(
  name: string,
  action: (...args: A) => Promise<R>,
  options: BreakerOptions,
  logger: Logger,
) {
  const breaker = new CircuitBreaker(action, {
    name,
    // Our own per-attempt deadline aborts the request; opossum's would only stop waiting for it.
    timeout: false,
    ...options,
    // A 4xx is the supplier answering (the request was wrong): opossum counts a filtered error
    // as a success, which a working supplier is. A caller who hung up never reaches the breaker:
    // its attempt runs to its own outcome (timeout.ts), so every count is the supplier's doing.
    errorFilter: (error: unknown) =>
      error instanceof SupplierFailure && error.kind === 'http' && (error.status ?? 500) < 500,
  });
  let state: BreakerState = 'closed';
  // The recent transitions only, so a flapping breaker cannot grow the gateway's memory; what
  // the list forgot is still counted, so the opens and an audit of the list stay exact.
  const transitions: Transition[] = [];
  let droppedTransitions = 0;
  let opens = 0;

  const move = (to: BreakerState, reason: string) => {
    const transition = { at: Date.now(), from: state, to, reason };
    state = to;
    transitions.push(transition);
    if (transitions.length > MAX_TRANSITIONS_KEPT) {
      transitions.shift();
      droppedTransitions += 1;
    }
    if (to === 'open') opens += 1;
    gatewayMetrics.breakerState.set({ dependency: name }, STATE_VALUE[to]);
    gatewayMetrics.breakerTransitions.inc({ dependency: name, to });
    if (to === 'open') gatewayMetrics.breakerOpens.inc({ dependency: name });
    logger.warn({ breaker: name, from: transition.from, to, reason }, `breaker ${name}: ${to}`);
  };

  breaker.on('open', () => {
    const { fires, failures } = breaker.stats;
    const rate = fires === 0 ? 0 : Math.round((failures / fires) * 100);
    move(
      'open',
      state === 'half-open'
        ? 'the half-open probe failed'
        : `failure rate ${rate}% > ${options.errorThresholdPercentage}% over ${fires} calls ` +
            `(volume threshold ${options.volumeThreshold}, window ${options.rollingCountTimeout} ms)`,
    );
  });
  breaker.on('halfOpen', () => {
    move('half-open', `reset timeout of ${options.resetTimeout} ms elapsed: admitting one probe`);
  });
  breaker.on('close', () => {
    move('closed', 'the half-open probe succeeded');
  });
  breaker.on('reject', () => {
    gatewayMetrics.rejections.inc({ dependency: name, reason: 'breaker-open' });
  });
  gatewayMetrics.breakerState.set({ dependency: name }, 0);

  return {
    fire: (...args: A) => breaker.fire(...args),
    state: () => state,
    snapshot: () => ({
      state,
      options,
      stats: breaker.stats,
      // Every open since the gateway started, as gateway_breaker_opens_total counts them.
      opens,
      // How many earlier transitions the list no longer shows: when above 0, the first listed
      // transition starts from wherever the forgotten ones left the breaker, not from closed.
      droppedTransitions,
      transitions,
    }),
    shutdown: () => {
      breaker.shutdown();
    },
  };
}

export type Breaker = ReturnType<typeof createBreaker>;
