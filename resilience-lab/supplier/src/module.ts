/**
 * The supplier's business module for a host other than its own start.ts: the catalog's answers
 * as plain functions. Its HTTP routes, chaos and call ledger stay behind the network wiring.
 */
export { isUnknownSku, priceOf, stockOf } from './domain/catalog.ts';
