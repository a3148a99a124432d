import type { SupplierFailure } from '@lab/resilience-gateway/seams';

/**
 * Should the gateway try this GET again? `failure.kind` says why the attempt failed: 'http'
 * (then `failure.status` is the 4xx or 5xx), 'timeout', 'connection' or 'caller-gone'.
 */
export function isRetryable(failure: SupplierFailure): boolean {
  return failure.kind !== 'caller-gone';
}
