import type { PriceCache } from '@lab/resilience-gateway/seams';

/**
 * The last good price per SKU, with when it was seen. While the breaker is open, a price a
 * few seconds old, marked as such, is worth more to a shopper than an error.
 */
export function createPriceCache(maxEntries = 10_000): PriceCache {
  const entries = new Map<string, { price: unknown; at: number }>();
  return {
    remember(sku, price) {
      entries.delete(sku);
      entries.set(sku, { price, at: Date.now() });
      const oldest = entries.keys().next();
      if (entries.size > maxEntries && !oldest.done) entries.delete(oldest.value);
    },
    recall(sku) {
      const entry = entries.get(sku);
      return entry && { price: entry.price, ageMs: Date.now() - entry.at };
    },
  };
}
