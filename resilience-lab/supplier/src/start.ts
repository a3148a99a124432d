import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { loadSupplierConfig } from './config.ts';
import { CallLedger } from './infrastructure/call-ledger.ts';
import { createSupplierChaos } from './infrastructure/chaos.ts';
import { supplierChaosRoutes } from './entry-points/api/chaos.routes.ts';
import { supplierRoutes } from './entry-points/api/supplier.routes.ts';

const config = loadSupplierConfig();
const logger = createLogger('supplier', config.LOG_LEVEL);
const chaos = createSupplierChaos(config.HANG_MAX_MS);
const ledger = new CallLedger(config.CALL_LOG_SIZE);

const app = createApp({
  service: 'supplier',
  logger,
  routes: (routes) => {
    supplierChaosRoutes(routes, { chaos, ledger, logger, enabled: config.LAB_CHAOS });
    supplierRoutes(routes, { chaos, ledger, logger, hangMaxMs: config.HANG_MAX_MS });
  },
});

const server = await start(app, config.PORT, config.HOST);
// Long-lived keep-alive connections from the gateway's pool must not be cut under it.
server.server.keepAliveTimeout = 30_000;
logger.info({ url: server.url, chaos: config.LAB_CHAOS }, 'listening');
onShutdown(logger, [server]);
