import type { Logger } from '@lab/shared/logging';
import type { ConsoleConfig } from './config.ts';
import { cqrsWatch } from './labs/cqrs.watch.ts';
import { resilienceWatch } from './labs/resilience.watch.ts';
import { sagaWatch } from './labs/saga.watch.ts';

export type ConsoleState = ReturnType<Console['state']>;

/** A client that read `/api/state` counts as watching for this long afterwards. */
const ASKED_WATCHES_MS = 30_000;

/**
 * The aggregator: polls the three labs' public endpoints on one clock, keeps the history their
 * own endpoints forget (breaker transitions, lag and latency samples) and hands every refresh
 * to the pages that subscribed.
 *
 * Every poll costs the labs too (the relay's and the projector's status ask Kafka for offsets),
 * and a lab left running with no page open would pay for refreshes nobody sees: the clock runs
 * at CONSOLE_POLL_MS while a page is subscribed or an API client asked lately, and at
 * CONSOLE_IDLE_POLL_MS otherwise, which keeps the history going at a fraction of the cost.
 */
export function createConsole(config: ConsoleConfig, logger: Logger) {
  const resilience = resilienceWatch(config);
  const saga = sagaWatch(config);
  const cqrs = cqrsWatch(config);
  const labs = { resilience, saga, cqrs };
  /** A page's subscription: every refresh, and the end of the stream when the console stops. */
  interface Listener {
    send: (state: object) => void;
    end: () => void;
  }
  const listeners = new Set<Listener>();
  /** Why a lab's last refresh failed, by lab: that lab shows as not up until one succeeds. */
  const failures = new Map<keyof typeof labs, string>();
  let refreshing: Promise<void> | undefined;
  let stopped = false;
  let lastRefresh = 0;
  let lastAsked = Number.NEGATIVE_INFINITY;

  const snapshotOf = (name: keyof typeof labs) => {
    const failure = failures.get(name);
    return failure === undefined ? labs[name].snapshot() : { up: false, error: failure };
  };
  const state = () => ({
    at: Date.now(),
    traceUrl: config.CONSOLE_TRACE_URL,
    resilience: snapshotOf('resilience'),
    saga: snapshotOf('saga'),
    cqrs: snapshotOf('cqrs'),
  });

  const refreshLab = async (name: keyof typeof labs) => {
    try {
      await labs[name].refresh();
      failures.delete(name);
    } catch (error) {
      // One lab answering what the console cannot read must not freeze the other two, nor
      // leave its own last snapshot on the page as if it were current.
      failures.set(name, (error as Error).message);
      logger.warn({ err: error, lab: name }, 'refresh failed');
    }
  };

  const tick = async () => {
    // A lab that answers slowly must not pile refreshes up behind it.
    if (refreshing) return refreshing;
    lastRefresh = Date.now();
    refreshing = Promise.all([refreshLab('resilience'), refreshLab('saga'), refreshLab('cqrs')])
      .then(() => {
        const current = state();
        for (const listener of listeners) listener.send(current);
      })
      .finally(() => {
        refreshing = undefined;
      });
    await refreshing;
  };
  const watched = () => listeners.size > 0 || Date.now() - lastAsked < ASKED_WATCHES_MS;
  const pollMs = () => (watched() ? config.CONSOLE_POLL_MS : config.CONSOLE_IDLE_POLL_MS);
  // The clock ticks at the watched interval and skips ticks while idle; half a tick of slack
  // keeps an idle poll from slipping a whole tick late.
  const timer = setInterval(() => {
    if (Date.now() - lastRefresh >= pollMs() - config.CONSOLE_POLL_MS / 2) void tick();
  }, config.CONSOLE_POLL_MS);

  return {
    resilience,
    saga,
    cqrs,
    state,
    refresh: tick,
    /** For an API client: the state, refreshed first when the clock was running idle. */
    fresh: async () => {
      lastAsked = Date.now();
      if (Date.now() - lastRefresh > config.CONSOLE_POLL_MS) await tick();
      return state();
    },
    subscribe: (listener: Listener) => {
      // A page whose request was under way while the console stopped: its stream ends at once.
      if (stopped) {
        listener.end();
        return () => undefined;
      }
      listeners.add(listener);
      listener.send(state());
      // A page opened on an idle console sees the labs as they are now, not a poll ago.
      if (Date.now() - lastRefresh > config.CONSOLE_POLL_MS) void tick();
      return () => {
        listeners.delete(listener);
      };
    },
    /**
     * Stops the clock and the traffic, and ends every page's stream: a stream never ends by
     * itself, and an HTTP server that is stopping waits for its open responses.
     */
    stop: () => {
      stopped = true;
      clearInterval(timer);
      resilience.stop();
      for (const listener of listeners) listener.end();
      listeners.clear();
    },
  };
}

export type Console = ReturnType<typeof createConsole>;
