import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { waitFor } from '@lab/shared/testkit';
import { delayBeyondInterval, readWindow } from '@lab/resilience-gateway/module';

/**
 * GET /status reports the gateway's event-loop delay. Node's histogram records each sample as
 * the whole time between two ticks of its 10 ms timer, so read as it is an idle loop shows
 * about 10 ms of delay: the report is what exceeds the interval.
 */
describe('The event-loop delay GET /status reports', () => {
  it('When samples are the 10 ms interval or less, then the delay is 0; beyond it, the excess', () => {
    expect(delayBeyondInterval(9.2e6)).toBe(0);
    expect(delayBeyondInterval(10e6)).toBe(0);
    expect(delayBeyondInterval(10.4e6)).toBeCloseTo(0.4, 9);
    expect(delayBeyondInterval(70e6)).toBeCloseTo(60, 9);

    let resets = 0;
    const window = readWindow({
      percentile: (p) => (p === 99 ? 11.5e6 : 10e6),
      max: 58e6,
      reset: () => {
        resets += 1;
      },
    });
    expect(window.p99Ms).toBeCloseTo(1.5, 9);
    expect(window.maxMs).toBeCloseTo(48, 9);
    expect(resets).toBe(1);
  });

  it("When the loop is blocked for 60 ms, then Node's histogram records the interval plus the block, and the report the block", async () => {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    try {
      // Its first tick only starts the clock: a block before it would be measured by nothing.
      await waitFor('the first sample', () => histogram.count > 0, { timeoutMs: 5000 });
      const blockedFrom = performance.now();
      while (performance.now() - blockedFrom < 60) {
        // Busy: no callback, the histogram's timer included, runs until this returns.
      }
      // The timer that was due during the block records its sample on its next tick.
      await waitFor('the blocked interval to be recorded', () => histogram.max >= 60e6, {
        timeoutMs: 5000,
      });
      const rawMaxMs = histogram.max / 1e6;
      const window = readWindow(histogram);
      expect(window.maxMs).toBeCloseTo(rawMaxMs - 10, 6);
      expect(window.maxMs).toBeGreaterThanOrEqual(50);
      expect(histogram.max).toBe(0);
    } finally {
      histogram.disable();
    }
  });
});
