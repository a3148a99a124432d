/**
 * The gateway's public face for a host other than its own start.ts: the protections, use cases
 * and routes, composed around any SupplierClient. The in-process wiring passes one that calls
 * the supplier's catalog module as a function instead of over HTTP.
 */
export { loadGatewayConfig, type GatewayConfig } from './config.ts';
export type { SupplierAnswer, SupplierClient } from './data-access/supplier.client.ts';
export { productionPolicies } from './domain/policies.ts';
export { RetryBudget } from './domain/protections/retry-budget.ts';
export { createAvailability, createQuotes } from './domain/quotes.use-case.ts';
export { createSupplierDependency } from './domain/supplier-dependency.ts';
export { gatewayRoutes } from './entry-points/api/gateway.routes.ts';
export { statusRoutes } from './entry-points/api/status.routes.ts';
export {
  delayBeyondInterval,
  readWindow,
  watchProcessHealth,
} from './infrastructure/process-health.ts';
