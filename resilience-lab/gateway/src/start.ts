import { createApp, onShutdown, start } from '@lab/shared/http';
import { withExerciseSeams } from '@lab/shared/exercise';
import { createLogger } from '@lab/shared/logging';
import { loadGatewayConfig } from './config.ts';
import { createSupplierClient } from './data-access/supplier.client.ts';
import { productionPolicies } from './domain/policies.ts';
import { watchProcessHealth } from './infrastructure/process-health.ts';
import { RetryBudget } from './domain/protections/retry-budget.ts';
import { createAvailability, createQuotes } from './domain/quotes.use-case.ts';
import { createSupplierDependency } from './domain/supplier-dependency.ts';
import { gatewayRoutes } from './entry-points/api/gateway.routes.ts';
import { statusRoutes } from './entry-points/api/status.routes.ts';

const config = loadGatewayConfig();
const logger = createLogger('gateway', config.LOG_LEVEL);
// With LAB_CHAOS=1 and LAB_EXERCISE_MODULE set, a learner's policies replace the gateway's own.
const policies = await withExerciseSeams('gateway', productionPolicies, config, logger);
const client = createSupplierClient(config.SUPPLIER_URL, config.POOL_CONNECTIONS);
// One budget for all dependencies: retries are extra load on the same supplier.
const budget = new RetryBudget({
  ratio: config.RETRY_BUDGET_RATIO,
  burst: config.RETRY_BUDGET_BURST,
  minPerSecond: config.RETRY_BUDGET_MIN_PER_SECOND,
});
const common = { client, config, policies, budget, logger };
const prices = createSupplierDependency({ name: 'prices', ...common });
const stock = createSupplierDependency({ name: 'stock', ...common });
const retryAfterS = Math.ceil(config.BREAKER_RESET_TIMEOUT_MS / 1000);
const health = watchProcessHealth();

const app = createApp({
  service: 'gateway',
  logger,
  routes: (routes) => {
    statusRoutes(routes, {
      config,
      dependencies: [prices, stock],
      budget,
      health: health.snapshot,
      service: 'gateway',
      pool: client.stats,
    });
    gatewayRoutes(routes, {
      quote: createQuotes({
        prices,
        cache: config.PROTECTIONS.has('fallback') ? policies.createPriceCache() : undefined,
        retryAfterS,
        logger,
      }),
      availability: createAvailability({ stock, retryAfterS }),
    });
  },
});

const server = await start(app, config.PORT, config.HOST);
logger.info(
  { url: server.url, supplier: config.SUPPLIER_URL, protections: [...config.PROTECTIONS] },
  'listening',
);
onShutdown(
  logger,
  [server],
  [
    async () => {
      prices.breaker?.shutdown();
      stock.breaker?.shutdown();
      health.stop();
      await client.close();
    },
  ],
);
