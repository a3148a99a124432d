import type { Logger } from '@lab/shared/logging';
import type { ConsoleConfig } from './config.ts';
import { cqrsWatch } from './labs/cqrs.watch.ts';
import { resilienceWatch } from './labs/resilience.watch.ts';
import { sagaWatch } from './labs/saga.watch.ts';

export type ConsoleState = ReturnType<Console['state']>;

/**
 * The aggregator: polls the three labs' public endpoints on one clock, keeps the history their
 * own endpoints forget (breaker transitions, lag and latency samples) and hands every refresh
 * to the pages that subscribed.
 */
export function createConsole(config: ConsoleConfig, logger: Logger) {
  const resilience = resilienceWatch(config);
  const saga = sagaWatch(config);
  const cqrs = cqrsWatch(config);
  const listeners = new Set<(state: object) => void>();
  let refreshing: Promise<void> | undefined;

  const state = () => ({
    at: Date.now(),
    traceUrl: config.CONSOLE_TRACE_URL,
    resilience: resilience.snapshot(),
    saga: saga.snapshot(),
    cqrs: cqrs.snapshot(),
  });

  const tick = async () => {
    // A lab that answers slowly must not pile refreshes up behind it.
    if (refreshing) return;
    refreshing = Promise.all([resilience.refresh(), saga.refresh(), cqrs.refresh()])
      .then(() => {
        const current = state();
        for (const listener of listeners) listener(current);
      })
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'refresh failed');
      })
      .finally(() => {
        refreshing = undefined;
      });
    await refreshing;
  };
  const timer = setInterval(() => void tick(), config.CONSOLE_POLL_MS);

  return {
    resilience,
    saga,
    cqrs,
    state,
    refresh: tick,
    subscribe: (listener: (state: object) => void) => {
      listeners.add(listener);
      listener(state());
      return () => {
        listeners.delete(listener);
      };
    },
    stop: () => {
      clearInterval(timer);
      resilience.stop();
    },
  };
}

export type Console = ReturnType<typeof createConsole>;
