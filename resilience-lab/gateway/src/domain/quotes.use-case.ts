import { AppError, problems } from '@lab/shared/http';
import type { Logger } from '@lab/shared/logging';
import { gatewayMetrics } from './gateway-metrics.ts';
import type { PriceCache } from './protections/price-cache.ts';
import type { CallContext, SupplierDependency } from './supplier-dependency.ts';
import { toProblem } from './supplier-problems.ts';
import { BulkheadFull } from './protections/bulkhead.ts';

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
      if (answer.status === 404) throw problems.notFound(`SKU ${sku}`);
      if (answer.status >= 400)
        throw new AppError(
          'supplier-rejected',
          502,
          `The supplier refused the call (${answer.status}).`,
        );
      cache?.remember(sku, answer.body);
      return { sku, price: answer.body, source: 'supplier' as const };
    } catch (error) {
      // A 404 or a bad request is an answer, not a failure: a stale price would be wrong there.
      // Shed load (bulkhead full) is served from the cache too: the caller still gets a price.
      if (error instanceof AppError || !cache) throw toProblem(error, 'prices', retryAfterS);
      const cached = cache.recall(sku);
      if (cached) {
        gatewayMetrics.fallbacks.inc({ dependency: 'prices', result: 'served' });
        return { sku, price: cached.price, source: 'cache' as const, ageMs: cached.ageMs };
      }
      gatewayMetrics.fallbacks.inc({ dependency: 'prices', result: 'none' });
      if (error instanceof BulkheadFull) throw toProblem(error, 'prices', retryAfterS);
      logger.debug({ sku, err: error }, 'no fallback price');
      throw new AppError(
        'price-unavailable',
        503,
        `No price for ${sku}: the supplier is failing and none is cached.`,
        {
          headers: { 'Retry-After': String(retryAfterS) },
        },
      );
    }
  };
}

/** GET /availability/:sku: stock has no sensible fallback, so its failure is the caller's to see. */
export function createAvailability({
  stock,
  retryAfterS,
}: {
  stock: SupplierDependency;
  retryAfterS: number;
}) {
  return async function availability(sku: string, ctx: CallContext) {
    try {
      const answer = await stock.call(`/stock/${encodeURIComponent(sku)}`, ctx);
      if (answer.status === 404) throw problems.notFound(`SKU ${sku}`);
      if (answer.status >= 400)
        throw new AppError(
          'supplier-rejected',
          502,
          `The supplier refused the call (${answer.status}).`,
        );
      return { sku, stock: answer.body };
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw toProblem(error, 'stock', retryAfterS);
    }
  };
}
