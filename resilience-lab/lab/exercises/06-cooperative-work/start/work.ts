/**
 * How the in-process supplier module spends a slow call's time. As it stands: one piece of CPU
 * work that ignores the caller's signal, so the gateway's timeout cannot end it.
 * The seam `compute(ms, signal)` in resilience-lab/monolith/src/seams.ts; the signal is the
 * caller's, aborted when the gateway's timeout fires.
 */
export function compute(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until);
  return Promise.resolve();
}
