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

export function createPriceCache(): PriceCache {
  return {
    remember() {
      // Nothing is kept yet.
    },
    recall() {
      return undefined;
    },
  };
}
