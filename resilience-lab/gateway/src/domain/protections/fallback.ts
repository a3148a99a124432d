export interface CachedPrice {
  price: unknown;
  /** How old the price is, in milliseconds: callers must know they got a stale answer. */
  ageMs: number;
}

export interface PriceCache {
  /** Called with every price the supplier returns. */
  remember(sku: string, price: unknown): void;
  /** Called when the supplier fails: the last good price for this SKU, if any. */
  recall(sku: string): CachedPrice | undefined;
}

/**
 * The fallback: the last good price per SKU, which the quote use case serves when the supplier
 * cannot answer (failure, open breaker, full bulkhead). A slightly old price marked as such
 * (source "cache", with its age) is more useful than an error, and costs the supplier nothing.
 * Bounded so that a scan of random SKUs cannot grow it without limit.
 */
export function createPriceCache(maxEntries = 10_000): PriceCache {
  const entries = new Map<string, { price: unknown; at: number }>();
  return {
    remember(sku, price) {
      entries.delete(sku);
      entries.set(sku, { price, at: Date.now() });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    },
    recall(sku) {
      const entry = entries.get(sku);
      return entry && { price: entry.price, ageMs: Date.now() - entry.at };
    },
  };
}
