export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/** The exponential ceiling for retry n (1-based): base, 2*base, 4*base, ... never above cap. */
export function backoffCeiling(retry: number, { baseMs, capMs }: BackoffOptions): number {
  return Math.min(capMs, baseMs * 2 ** (retry - 1));
}

export type BackoffDelay = (retry: number, options: BackoffOptions, random: () => number) => number;

/**
 * Full jitter: a uniform draw between 0 and the exponential ceiling. Without the draw, every
 * caller that failed together retries together, in synchronised waves that hit a recovering
 * supplier exactly when it is weakest; the jitter spreads them over the whole window.
 */
export const backoffDelay: BackoffDelay = (retry, options, random) =>
  Math.floor(random() * backoffCeiling(retry, options));
