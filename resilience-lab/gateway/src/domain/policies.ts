import { backoffDelay, type BackoffDelay } from './protections/backoff.ts';
import { createBulkhead } from './protections/bulkhead.ts';
import { createPriceCache } from './protections/fallback.ts';
import { isRetryable, type RetryPredicate } from './protections/retry-policy.ts';

/**
 * The decisions inside the protections that a learner may rewrite: how long to back off, which
 * failures deserve a retry, how the bulkhead admits a call, where the fallback price comes
 * from. The breaker, the timeout and the retry loop around them stay the gateway's own.
 */
export interface Policies {
  backoffDelay: BackoffDelay;
  isRetryable: RetryPredicate;
  createBulkhead: typeof createBulkhead;
  createPriceCache: typeof createPriceCache;
}

export const productionPolicies: Policies = {
  backoffDelay,
  isRetryable,
  createBulkhead,
  createPriceCache,
};
