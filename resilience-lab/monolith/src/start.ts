/**
 * The resilience lab's gateway with the supplier's catalog module called in-process: the same
 * routes, use cases and protections as the gateway service, around a function call instead of
 * an HTTP pool. What the protections still catch here is what a module can do to its caller
 * without a network (throw, compute slowly, await forever); what they no longer meet (a reset
 * connection, a supplier process that is down, a pool full of slow sockets) existed only
 * because of the hop.
 */
import { chaosRoutes } from '@lab/shared/chaos';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import {
  createAvailability,
  createQuotes,
  createSupplierDependency,
  gatewayRoutes,
  loadGatewayConfig,
  productionPolicies,
  RetryBudget,
  statusRoutes,
  watchProcessHealth,
} from '@lab/resilience-gateway/module';
import { withExerciseSeams } from '@lab/shared/exercise';
import { createModuleChaos, inProcessSupplier } from './data-access/in-process-supplier.ts';
import { monolithSeams } from './seams.ts';

// The supplier service's own default: a hang outlives any caller that has a timeout.
const HANG_MAX_MS = 120_000;

const config = loadGatewayConfig();
const logger = createLogger('resilience-monolith', config.LOG_LEVEL);
const chaos = createModuleChaos(HANG_MAX_MS);
// With LAB_CHAOS=1 and LAB_EXERCISE_MODULE set, a learner's code replaces the module's work.
const { compute } = await withExerciseSeams('resilience-monolith', monolithSeams, config, logger);
const client = inProcessSupplier(chaos, compute);
const budget = new RetryBudget({
  ratio: config.RETRY_BUDGET_RATIO,
  burst: config.RETRY_BUDGET_BURST,
  minPerSecond: config.RETRY_BUDGET_MIN_PER_SECOND,
});
const common = { client, config, policies: productionPolicies, budget, logger };
const prices = createSupplierDependency({ name: 'prices', ...common });
const stock = createSupplierDependency({ name: 'stock', ...common });
const retryAfterS = Math.ceil(config.BREAKER_RESET_TIMEOUT_MS / 1000);
const health = watchProcessHealth();

const app = createApp({
  service: 'resilience-monolith',
  logger,
  routes: (routes) => {
    // LAB_CHAOS=1: the module's faults are set on this process, the only one there is.
    chaosRoutes(routes, chaos, { enabled: config.LAB_CHAOS, logger });
    statusRoutes(routes, {
      config,
      dependencies: [prices, stock],
      budget,
      health: health.snapshot,
      service: 'resilience-monolith',
    });
    gatewayRoutes(routes, {
      quote: createQuotes({
        prices,
        cache: config.PROTECTIONS.has('fallback')
          ? productionPolicies.createPriceCache()
          : undefined,
        retryAfterS,
        logger,
      }),
      availability: createAvailability({ stock, retryAfterS }),
    });
  },
});

const server = await start(app, config.PORT, config.HOST);
logger.info(
  { url: server.url, supplier: 'in-process', protections: [...config.PROTECTIONS] },
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
