import { setTimeout as sleep } from 'node:timers/promises';
import { SupplierFailure } from '../../data-access/supplier.client.ts';
import { backoffCeiling, type BackoffDelay, type BackoffOptions } from './backoff.ts';
import type { RetryBudget } from './retry-budget.ts';
import type { RetryPredicate } from './retry-policy.ts';

export interface RetryOptions extends BackoffOptions {
  maxAttempts: number;
  retryAfterMaxMs: number;
  /**
   * When the whole call must be over (ms since epoch), and how long one attempt may take: a
   * retry that cannot finish before the caller's deadline is load with no one to receive it.
   */
  deadlineAt: number;
  attemptTimeoutMs: number;
  budget: RetryBudget;
  backoff: BackoffDelay;
  isRetryable: RetryPredicate;
  random?: () => number;
  signal: AbortSignal;
  onDecision: (decision: RetryDecision) => void;
}

export interface RetryDecision {
  decision:
    'retry' | 'budget-exhausted' | 'retry-after-too-long' | 'attempts-exhausted' | 'past-deadline';
  attempt: number;
  /** The wait before the next attempt: the jitter draw, or the supplier's Retry-After if longer. */
  delayMs?: number;
  /** The backoff policy's draw itself, before any Retry-After stretches it. */
  jitterMs?: number;
  ceilingMs?: number;
  retryAfterMs?: number;
  failure: string;
}

/**
 * Runs `attempt` until it succeeds, the failure is not retryable, attempts run out, the
 * supplier's Retry-After asks for longer than allowed, the next try could not finish before the
 * deadline, the shared budget refuses, or the caller leaves. The wait before retry n is a
 * full-jitter draw under the exponential ceiling, stretched to the supplier's Retry-After when it
 * asked for more time.
 */
export async function withRetries<T>(
  run: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const random = options.random ?? Math.random;
  options.budget.onRequest();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run(attempt);
    } catch (error) {
      if (!(error instanceof SupplierFailure)) throw error;
      // Nobody is waiting for a retry's answer: no decision, no token spent from the budget.
      if (options.signal.aborted)
        throw new SupplierFailure('caller-gone', 'The caller left during the attempt.', {
          cause: error,
        });
      if (!options.isRetryable(error)) throw error;
      const failure = error.status ? `${error.kind} ${error.status}` : error.kind;
      if (attempt >= options.maxAttempts) {
        options.onDecision({ decision: 'attempts-exhausted', attempt, failure });
        throw error;
      }
      const { retryAfterMs } = error;
      if (retryAfterMs !== undefined && retryAfterMs > options.retryAfterMaxMs) {
        options.onDecision({ decision: 'retry-after-too-long', attempt, retryAfterMs, failure });
        throw error;
      }
      const ceilingMs = backoffCeiling(attempt, options);
      const jitterMs = options.backoff(attempt, options, random);
      // The supplier knows when it can take traffic again; retrying sooner only adds load.
      const delayMs = Math.max(jitterMs, retryAfterMs ?? 0);
      if (Date.now() + delayMs + options.attemptTimeoutMs > options.deadlineAt) {
        options.onDecision({ decision: 'past-deadline', attempt, delayMs, jitterMs, failure });
        throw error;
      }
      if (!options.budget.tryWithdraw()) {
        options.onDecision({ decision: 'budget-exhausted', attempt, failure });
        throw error;
      }
      options.onDecision({
        decision: 'retry',
        attempt,
        delayMs,
        jitterMs,
        ceilingMs,
        retryAfterMs,
        failure,
      });
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => {
        throw new SupplierFailure('caller-gone', 'The caller left during the backoff.');
      });
    }
  }
}
