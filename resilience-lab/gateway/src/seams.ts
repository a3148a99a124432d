/**
 * What an exercise may replace in the gateway, and the types it implements (the package export
 * `@lab/resilience-gateway/seams`). The lab starts the gateway with LAB_CHAOS=1 and
 * LAB_EXERCISE_MODULE=<learner's file>; each of these names that file exports replaces the
 * production policy (see withExerciseSeams in @lab/shared/exercise).
 */
export { productionPolicies as gatewaySeams, type Policies } from './domain/policies.ts';
export type { BackoffDelay, BackoffOptions } from './domain/protections/backoff.ts';
export type { Bulkhead, BulkheadOptions } from './domain/protections/bulkhead.ts';
export type { CachedPrice, PriceCache } from './domain/protections/fallback.ts';
export type { RetryPredicate } from './domain/protections/retry-policy.ts';
export type { SupplierFailure } from './data-access/supplier.client.ts';
