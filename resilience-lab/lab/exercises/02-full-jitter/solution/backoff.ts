import type { BackoffOptions } from '@lab/resilience-gateway/seams';

/**
 * Full jitter: a uniform draw between 0 and the exponential ceiling. Plain exponential backoff
 * makes every caller that failed together retry together, in waves that hit the recovering
 * supplier at its weakest; the draw spreads them over the window.
 */
export function backoffDelay(retry: number, options: BackoffOptions, random: () => number): number {
  return Math.floor(random() * Math.min(options.capMs, options.baseMs * 2 ** (retry - 1)));
}
