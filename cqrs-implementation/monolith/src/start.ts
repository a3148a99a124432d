/**
 * The CQRS lab's operations as a modular monolith: the command module and the query module in
 * one process, on one PostgreSQL database. Commands are the command service's own (validation,
 * invariants, idempotency keys for client retries); queries are the query service's own routes,
 * answered by SQL joins over the write model. No outbox, relay, Kafka, projector or Redis: a
 * query runs after the command's COMMIT on the same database, so read-your-writes holds without
 * waiting and the consistency token has nothing left to wait for.
 */
import {
  noOutbox,
  orderRoutes,
  productRoutes,
  writeModelMigrations,
} from '@lab/cqrs-command-service/module';
import { decodeToken, readRoutes } from '@lab/cqrs-query-service/module';
import { withExerciseSeams } from '@lab/shared/exercise';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createPool, databaseUrlFor, migrateWhileListening } from '@lab/shared/pg';
import { readConfig } from './config.ts';
import { writeModelReads } from './data-access/write-model-reads.ts';
import { monolithSeams } from './seams.ts';

const config = readConfig();
const logger = createLogger('cqrs-monolith', config.LOG_LEVEL);
const schema = migrateWhileListening({
  adminUrl: config.DATABASE_URL,
  database: config.DATABASE_NAME,
  dir: writeModelMigrations,
  logger,
});
const seams = await withExerciseSeams('cqrs-monolith', monolithSeams, config, logger);
const pool = createPool(databaseUrlFor(config.DATABASE_URL, config.DATABASE_NAME), {
  max: 20,
  logger,
});

/**
 * A consistency token, in the format the split wiring's command service issues, is still
 * accepted (a malformed one is still refused with 400), and is satisfied at once: the write
 * that issued it committed in this database before its answer was sent.
 */
const readYourWrites = (_reads: unknown, token: string) => {
  decodeToken(token);
  return Promise.resolve();
};
// The query routes' default wait; unused here, since no query ever waits.
const NO_WAIT_MS = 0;

const app = createApp({
  service: 'cqrs-monolith',
  logger,
  readiness: { postgres: schema.readiness(() => pool.query('SELECT 1')) },
  routes: (routes) => {
    routes.use(schema.gate);
    productRoutes(routes, pool, noOutbox);
    orderRoutes(routes, pool, noOutbox);
    readRoutes(routes, writeModelReads(pool, seams), NO_WAIT_MS, readYourWrites);
  },
});

const server = await start(app, config.PORT, config.HOST);
logger.info({ url: server.url }, 'listening');
onShutdown(logger, [server], [() => pool.end()]);
