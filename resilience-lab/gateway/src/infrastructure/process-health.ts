import { monitorEventLoopDelay } from 'node:perf_hooks';

/** How often the loop is sampled: a 10 ms timer, whose lateness is the delay. */
const SAMPLE_INTERVAL_MS = 10;

/** The part of a histogram `watchProcessHealth` reads: Node's, or a test's stand-in. */
export interface DelayHistogram {
  percentile(percentile: number): number;
  readonly max: number;
  reset(): void;
}

/**
 * Node records each sample as the whole time between two ticks of its timer (in ns), the
 * sampling interval included, so an idle loop reads about 10 ms. The delay is what exceeds the
 * interval: how long a callback that was due had to wait for the loop.
 */
export function delayBeyondInterval(sampleNs: number): number {
  return Math.max(0, sampleNs / 1e6 - SAMPLE_INTERVAL_MS);
}

/** The last window's delays from `histogram`, which then starts the next window empty. */
export function readWindow(histogram: DelayHistogram): { p99Ms: number; maxMs: number } {
  const window = {
    p99Ms: delayBeyondInterval(histogram.percentile(99)),
    maxMs: delayBeyondInterval(histogram.max),
  };
  histogram.reset();
  return window;
}

/**
 * Event-loop delay and RSS over the last second: a gateway drowning in queued work shows it
 * here first, long before its error rate moves.
 */
export function watchProcessHealth() {
  const histogram = monitorEventLoopDelay({ resolution: SAMPLE_INTERVAL_MS });
  histogram.enable();
  let last = { p99Ms: 0, maxMs: 0 };
  const timer = setInterval(() => {
    last = readWindow(histogram);
  }, 1000);
  timer.unref();
  return {
    snapshot: () => ({ eventLoopDelayMs: last, rssBytes: process.memoryUsage.rss() }),
    stop: () => {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
