import type { SupplierFailure } from '@lab/resilience-gateway/seams';

/**
 * Retry only what a second attempt can fix: a 5xx, a dropped connection, a timeout. A 4xx says
 * the request is wrong and will be wrong again; retrying it is pure extra load. A caller that
 * left gains nothing.
 */
export function isRetryable(failure: SupplierFailure): boolean {
  switch (failure.kind) {
    case 'timeout':
    case 'connection':
      return true;
    case 'http':
      return failure.status !== undefined && failure.status >= 500;
    case 'caller-gone':
      return false;
  }
}
