import { createHash } from 'node:crypto';

/** Prices and stock derived from the SKU, so every run answers the same without a database. */
function hashOf(sku: string): number {
  return createHash('sha256').update(sku).digest().readUInt32BE(0);
}

export const isUnknownSku = (sku: string) => sku.startsWith('unknown');

export function priceOf(sku: string) {
  return { sku, amount: 100 + (hashOf(sku) % 99_900), currency: 'EUR' };
}

export function stockOf(sku: string) {
  return { sku, available: hashOf(`stock:${sku}`) % 500, warehouse: 'ams-1' };
}
