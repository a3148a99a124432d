/**
 * Above the supplier's p99 (400 ms) with headroom: a timeout under the p99 fails a healthy
 * supplier's slow tail, the breaker counts those as failures and trips for nothing. Still far
 * below "forever", so a hung call is cut and its connection comes back.
 */
export const TIMEOUT_MS = 800;
