export interface AttemptTimeout {
  /** Aborts the attempt's request at its deadline. */
  signal: AbortSignal;
  timedOut: () => boolean;
  /** Call when the attempt settles, so the timer does not outlive it. */
  clear: () => void;
}

/**
 * The timeout: each attempt gets its own deadline, and reaching it aborts that attempt's
 * request instead of merely ceasing to wait for it. Without a timeout a slow supplier holds
 * every gateway connection and caller until it answers, which is how one slow dependency takes
 * its callers down with it. Set the deadline above the supplier's p99, or the timeout turns
 * ordinary slow answers into failures that trip the breaker and invite retries.
 * `timeoutMs` undefined switches the protection off (the experiments' unprotected gateway).
 *
 * The gateway's own caller hanging up does not cut an attempt already sent: the breaker counts
 * each attempt's outcome, and a cut attempt has none. opossum knows no third outcome: counted as
 * a failure, impatient callers would open the breaker of a healthy supplier; filtered out, it is
 * a success, so callers who give up on a hanging supplier would keep its breaker closed, and one
 * who gives up on the half-open probe would close it. What a departed caller stops is what has not
 * started yet: its place in the bulkhead queue, the backoff and every further retry. The deadline
 * bounds what the supplier still does for nobody to one attempt.
 */
export function startAttemptTimeout(timeoutMs: number | undefined): AttemptTimeout {
  const deadline = new AbortController();
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          deadline.abort();
        }, timeoutMs);
  return {
    signal: deadline.signal,
    timedOut: () => deadline.signal.aborted,
    clear: () => {
      clearTimeout(timer);
    },
  };
}
