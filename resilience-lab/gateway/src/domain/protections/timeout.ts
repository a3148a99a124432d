export interface AttemptTimeout {
  /** Aborts the attempt's request at its deadline, or when the gateway's own caller leaves. */
  signal: AbortSignal;
  timedOut: () => boolean;
  callerLeft: () => boolean;
  /** Call when the attempt settles, so the timer does not outlive it. */
  clear: () => void;
}

const NEVER = new AbortController().signal;

/**
 * The timeout: each attempt gets its own deadline, and reaching it aborts that attempt's
 * request instead of merely ceasing to wait for it. Without a timeout a slow supplier holds
 * every gateway connection and caller until it answers, which is how one slow dependency takes
 * its callers down with it. Set the deadline above the supplier's p99, or the timeout turns
 * ordinary slow answers into failures that trip the breaker and invite retries.
 * `timeoutMs` undefined switches the protection off (the experiments' unprotected gateway).
 */
export function startAttemptTimeout(
  timeoutMs: number | undefined,
  callerSignal: AbortSignal,
): AttemptTimeout {
  const deadline = new AbortController();
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          deadline.abort();
        }, timeoutMs);
  // Without cancellation the gateway keeps waiting for answers its caller no longer wants.
  const caller = timeoutMs === undefined ? NEVER : callerSignal;
  return {
    signal: AbortSignal.any([deadline.signal, caller]),
    timedOut: () => deadline.signal.aborted,
    callerLeft: () => caller.aborted,
    clear: () => {
      clearTimeout(timer);
    },
  };
}
