/**
 * Nearest-rank percentile (p in 0..100): the smallest sample with at least p% of the samples
 * at or below it, so a reported p99 is a latency some request really had. Null for no samples.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/**
 * The median: the middle sample, or the mean of the two middle ones for an even count. Not
 * percentile(values, 50), whose nearest rank is the lower middle sample: with two rounds that
 * would report the slower one as the median of both. Null for no samples.
 */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const upper = sorted.length >> 1;
  const high = sorted[upper] ?? Number.NaN;
  return sorted.length % 2 === 1 ? high : ((sorted[upper - 1] ?? Number.NaN) + high) / 2;
}

/**
 * `values` against `bases`, both measured round by round in the same rounds: the median of the
 * ratios within each round. Two sides of one round ran seconds apart on the same machine, so a
 * machine that changes speed between rounds (a neighbour's load, a slower phase, a checkpoint
 * in PostgreSQL) moves both alike, and a round one burst spoiled is outvoted instead of
 * deciding the ratio, as it would in a ratio of totals or of medians taken from different
 * rounds. Null when no round has both sides.
 */
export function roundRatio(values: readonly number[], bases: readonly number[]): number | null {
  const ratios = values.flatMap((value, round) => {
    const base = bases[round];
    return base !== undefined && base > 0 ? [value / base] : [];
  });
  return median(ratios);
}
