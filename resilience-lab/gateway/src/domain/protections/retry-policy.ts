import type { SupplierFailure } from '../../data-access/supplier.client.ts';

export type RetryPredicate = (failure: SupplierFailure) => boolean;

/**
 * Only failures a second attempt can fix. A 4xx says the request itself is wrong: sending it
 * again is extra load for the same answer. A caller who already left gains nothing from a retry.
 * Callers only ask for GETs here, which are idempotent, so repeating one is safe.
 */
export const isRetryable: RetryPredicate = (failure) => {
  switch (failure.kind) {
    case 'timeout':
    case 'connection':
      return true;
    case 'http':
      return failure.status !== undefined && failure.status >= 500;
    case 'caller-gone':
      return false;
  }
};
