import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Event-loop delay and RSS over the last second: a gateway drowning in queued work shows it
 * here first, long before its error rate moves.
 */
export function watchProcessHealth() {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let last = { p99Ms: 0, maxMs: 0 };
  const timer = setInterval(() => {
    last = { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
    histogram.reset();
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
