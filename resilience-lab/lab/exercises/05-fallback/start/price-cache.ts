import type { PriceCache } from '@lab/resilience-gateway/seams';

export function createPriceCache(_maxEntries = 10_000): PriceCache {
  return {
    remember() {
      // Nothing is kept yet.
    },
    recall() {
      return undefined;
    },
  };
}
