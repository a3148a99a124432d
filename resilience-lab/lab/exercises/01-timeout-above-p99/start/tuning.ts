/**
 * The gateway's per-attempt timeout, in milliseconds. The supplier's prices answer with
 * p50 = 60 ms and p99 = 400 ms, and the breaker is sensitive (it opens above 10% failures).
 */
export const TIMEOUT_MS = 150;
