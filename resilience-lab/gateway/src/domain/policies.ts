import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GatewayConfig } from '../config.ts';
import { backoffDelay, type BackoffDelay } from './protections/backoff.ts';
import { createBulkhead } from './protections/bulkhead.ts';
import { createPriceCache } from './protections/price-cache.ts';
import { isRetryable, type RetryPolicy } from './protections/retry-policy.ts';

export interface Policies {
  backoffDelay: BackoffDelay;
  isRetryable: RetryPolicy;
  createBulkhead: typeof createBulkhead;
  createPriceCache: typeof createPriceCache;
}

async function override<K extends keyof Policies>(
  path: string | undefined,
  key: K,
  fallback: Policies[K],
): Promise<Policies[K]> {
  if (!path) return fallback;
  const loaded = (await import(pathToFileURL(resolve(path)).href)) as Partial<Policies>;
  const policy = loaded[key];
  if (typeof policy !== 'function') throw new Error(`${path} does not export a function ${key}`);
  return policy as Policies[K];
}

/**
 * The gateway's own policies, each replaceable by a module named in the environment: the
 * exercises plug a learner's implementation into the real gateway through these seams.
 */
export async function loadPolicies(config: GatewayConfig): Promise<Policies> {
  return {
    backoffDelay: await override(config.BACKOFF_MODULE, 'backoffDelay', backoffDelay),
    isRetryable: await override(config.RETRY_POLICY_MODULE, 'isRetryable', isRetryable),
    createBulkhead: await override(config.BULKHEAD_MODULE, 'createBulkhead', createBulkhead),
    createPriceCache: await override(
      config.PRICE_CACHE_MODULE,
      'createPriceCache',
      createPriceCache,
    ),
  };
}
