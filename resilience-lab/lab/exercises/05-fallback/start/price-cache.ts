import type { PriceCache } from '@lab/resilience-gateway/seams';

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
