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
