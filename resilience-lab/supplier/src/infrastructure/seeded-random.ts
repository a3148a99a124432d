/**
 * A seeded PRNG (mulberry32): 32 bits of state, so the same seed replays the same fault
 * sequence call for call. Math.random cannot be replayed, which turns every chaos finding
 * into an anecdote; a seed turns it into an experiment someone else can rerun.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** z-score of the 99th percentile of the standard normal distribution. */
const Z99 = 2.326_347_874;

/**
 * Real service latency is skewed: most calls are near the median and a long tail is far
 * slower. A log-normal fitted to p50 and p99 reproduces that tail, which is what makes
 * timeouts and pools misbehave; a uniform or fixed delay never would.
 * ln(X) ~ N(mu, sigma) with e^mu = p50 and e^(mu + Z99 * sigma) = p99.
 */
export function logNormalQuantile(p50Ms: number, p99Ms: number, z: number): number {
  const mu = Math.log(p50Ms);
  const sigma = Math.log(p99Ms / p50Ms) / Z99;
  return Math.exp(mu + sigma * z);
}

/** Box-Muller: two uniforms in, one standard normal draw out. */
export function standardNormal(u1: number, u2: number): number {
  const safe = Math.max(u1, Number.EPSILON);
  return Math.sqrt(-2 * Math.log(safe)) * Math.cos(2 * Math.PI * u2);
}
