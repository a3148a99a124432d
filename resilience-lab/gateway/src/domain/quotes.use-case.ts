import type { Logger } from '@lab/shared/logging';
import { gatewayMetrics } from '../infrastructure/gateway-metrics.ts';
import type { PriceCache } from './protections/fallback.ts';
import type { CallContext, SupplierDependency } from './supplier-dependency.ts';
import { callerLeft, rejectionOf, toProblem } from './supplier-problems.ts';

interface Deps {
  prices: SupplierDependency;
  /** Undefined when the fallback protection is off. */
  cache: PriceCache | undefined;
  retryAfterS: number;
  logger: Logger;
}

/** GET /quotes/:sku: the supplier's price, or the last good one while the supplier is sick. */
export function createQuotes({ prices, cache, retryAfterS, logger }: Deps) {
  return async function quote(sku: string, ctx: CallContext) {
    try {
      const answer = await prices.call(`/prices/${encodeURIComponent(sku)}`, ctx);
      cache?.remember(sku, answer.body);
      return { sku, price: answer.body, source: 'supplier' as const };
    } catch (error) {
      // A 404 is an answer, not a failure: a stale price for an unknown SKU would be wrong.
      const rejected = rejectionOf(error, sku);
      if (rejected) throw rejected;
      // A caller who left reads no answer: neither a fallback to serve nor a failure to report.
      if (ctx.callerSignal.aborted) throw callerLeft();
      if (!cache) throw toProblem(error, 'prices', retryAfterS);
      // Shed load (bulkhead full) is served from the cache too: the caller still gets a price.
      const cached = cache.recall(sku);
      if (cached) {
        gatewayMetrics.fallbacks.inc({ dependency: 'prices', result: 'served' });
        return { sku, price: cached.price, source: 'cache' as const, ageMs: cached.ageMs };
      }
      // Nothing to fall back on: the caller learns what happened to the call, as without the
      // fallback (502 for a supplier that failed, 504 for one too slow, 503 only when it was
      // unreachable, the breaker open or the bulkhead full).
      gatewayMetrics.fallbacks.inc({ dependency: 'prices', result: 'none' });
      logger.debug({ sku, err: error }, 'no fallback price');
      throw toProblem(error, 'prices', retryAfterS);
    }
  };
}

/** GET /availability/:sku: stock has no sensible fallback, so its failure is the caller's to see. */
export function createAvailability(deps: { stock: SupplierDependency; retryAfterS: number }) {
  return async function availability(sku: string, ctx: CallContext) {
    try {
      const answer = await deps.stock.call(`/stock/${encodeURIComponent(sku)}`, ctx);
      return { sku, stock: answer.body };
    } catch (error) {
      if (ctx.callerSignal.aborted) throw callerLeft();
      throw rejectionOf(error, sku) ?? toProblem(error, 'stock', deps.retryAfterS);
    }
  };
}
