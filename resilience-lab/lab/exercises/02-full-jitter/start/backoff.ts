import type { BackoffOptions } from '@lab/resilience-gateway/seams';

/**
 * The wait before retry number `retry` (1 for the first retry). `random()` returns a uniform
 * number in [0, 1). The ceiling for retry n is min(capMs, baseMs * 2^(n-1)).
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions,
  _random: () => number,
): number {
  return Math.min(options.capMs, options.baseMs * 2 ** (retry - 1));
}
