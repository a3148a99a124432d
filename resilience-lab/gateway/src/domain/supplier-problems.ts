import { neverConnected } from '@lab/shared/errors';
import { AppError, problems } from '@lab/shared/http';
import { SupplierFailure } from '../data-access/supplier.client.ts';
import { isBreakerOpen } from './protections/breaker.ts';
import { isBulkheadFull } from './protections/bulkhead.ts';

/**
 * What the gateway's caller is told when a dependency fails: a 5xx names the dependency, never
 * the gateway, and carries Retry-After where waiting helps. Anything else is a gateway bug.
 */
export function toProblem(error: unknown, dependency: string, retryAfterS: number): unknown {
  const retryAfter = { 'Retry-After': String(retryAfterS) };
  if (isBulkheadFull(error))
    return new AppError('bulkhead-full', 503, `Too many ${dependency} calls in progress.`, {
      headers: { 'Retry-After': '1' },
    });
  if (isBreakerOpen(error))
    return new AppError('breaker-open', 503, `The ${dependency} breaker is open.`, {
      headers: retryAfter,
    });
  if (error instanceof SupplierFailure) {
    switch (error.kind) {
      case 'timeout':
        return new AppError('supplier-timeout', 504, `The ${dependency} call timed out.`);
      case 'http':
        return new AppError('supplier-error', 502, `The supplier failed (${error.status}).`, {
          headers: retryAfter,
        });
      case 'connection':
        // Nobody answered the connection: the supplier is unreachable, which is what a 503
        // says, and waiting may help. A connection that dropped mid-exchange did reach it, so
        // what happened to the call is unknown: a 502, like any failure of the upstream.
        return neverConnected(error.cause)
          ? problems.unavailable(
              'supplier-unreachable',
              'The supplier is unreachable.',
              retryAfterS,
            )
          : new AppError(
              'supplier-connection-lost',
              502,
              'The connection to the supplier dropped.',
            );
      case 'caller-gone':
        return callerLeft();
    }
  }
  return error;
}

/** The answer to a caller who hung up: nobody reads it, so it only ends the call (and its log line). */
export const callerLeft = () => new AppError('client-closed-request', 499, 'The client left.');

/** A 4xx from the supplier is an answer about the request: passed on, never hidden by a fallback. */
export function rejectionOf(error: unknown, sku: string): AppError | undefined {
  if (!(error instanceof SupplierFailure) || error.kind !== 'http') return undefined;
  const status = error.status ?? 500;
  if (status >= 500) return undefined;
  if (status === 404) return problems.notFound(`SKU ${sku}`);
  return new AppError('supplier-rejected', 502, `The supplier refused the call (${status}).`);
}
