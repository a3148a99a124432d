/**
 * The command service: the write side of CQRS. It validates commands, enforces invariants in
 * PostgreSQL transactions and writes each change's events to the outbox in the same
 * transaction. It never talks to Kafka or Redis: the relay and the projector take it from here.
 */
import { join } from 'node:path';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createPool, databaseUrlFor, migrateWhileListening } from '@lab/shared/pg';
import { readConfig } from './config.ts';
import { noOutbox, transactionalOutbox } from './data-access/outbox.repository.ts';
import { orderRoutes } from './entry-points/api/orders.routes.ts';
import { productRoutes } from './entry-points/api/products.routes.ts';

const config = readConfig();
const logger = createLogger('command-service', config.LOG_LEVEL);
const schema = migrateWhileListening({
  adminUrl: config.DATABASE_URL,
  database: config.DATABASE_NAME,
  dir: join(import.meta.dirname, 'data-access', 'migrations'),
  logger,
});
const pool = createPool(databaseUrlFor(config.DATABASE_URL, config.DATABASE_NAME), {
  max: 20,
  logger,
});
const outbox = config.BENCH_SKIP_OUTBOX ? noOutbox : transactionalOutbox;
if (config.BENCH_SKIP_OUTBOX) logger.warn('BENCH_SKIP_OUTBOX=1: commands write no events');

const app = createApp({
  service: 'command-service',
  logger,
  readiness: { postgres: schema.readiness(() => pool.query('SELECT 1')) },
  routes: (routes) => {
    routes.use(schema.gate);
    productRoutes(routes, pool, outbox);
    orderRoutes(routes, pool, outbox);
  },
});

const server = await start(app, config.PORT, config.HOST);
logger.info({ url: server.url }, 'listening');
onShutdown(logger, [server], [() => pool.end()]);
