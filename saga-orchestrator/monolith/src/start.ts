/**
 * The saga lab's business operations as one modular monolith: the modules (flights, hotels,
 * cars, payments, trips) each own a schema of one database and meet in-process, through the
 * ports the trips module declares. This file wires them: settings, migrations, one pool, the
 * modules behind their ports, the public API and the modules' admin routes, then listens.
 */
import { withExerciseSeams } from '@lab/shared/exercise';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createPool, databaseUrlFor, migrateWhileListening } from '@lab/shared/pg';
import { config } from './config.ts';
import { inventoryModule } from './modules/inventory/index.ts';
import { paymentsModule } from './modules/payments/index.ts';
import { tripRoutes, type BookingPorts } from './modules/trips/index.ts';
import { monolithSeams } from './seams.ts';

const logger = createLogger('saga-monolith', config.LOG_LEVEL);
// The lab's exercises replace seams here (LAB_EXERCISE_MODULE, honoured only with LAB_CHAOS=1).
const seams = await withExerciseSeams('saga-monolith', monolithSeams, config, logger);
const schema = migrateWhileListening({
  adminUrl: config.DATABASE_URL,
  database: config.DATABASE_NAME,
  dir: new URL('./data-access/migrations', import.meta.url).pathname,
  logger,
});
const pool = createPool(databaseUrlFor(config.DATABASE_URL, config.DATABASE_NAME), {
  max: config.DB_POOL_SIZE,
  logger,
});
const flights = inventoryModule('flights');
const hotels = inventoryModule('hotels');
const cars = inventoryModule('cars');
const payments = paymentsModule();
const ports: BookingPorts = {
  pool,
  flights,
  hotels,
  cars,
  payments: seams.paymentPort(payments, { paymentsUrl: config.PAYMENTS_URL }),
};

const app = createApp({
  service: 'saga-monolith',
  logger,
  readiness: { postgres: schema.readiness(() => pool.query('SELECT 1')) },
  routes: (routes) => {
    routes.use(schema.gate);
    tripRoutes(routes, ports);
    if (config.LAB_CHAOS)
      for (const module of [flights, hotels, cars, payments]) module.adminRoutes(routes, pool);
  },
});
const server = await start(app, config.PORT, config.HOST);
logger.info({ url: server.url, chaos: config.LAB_CHAOS }, 'listening');
onShutdown(logger, [server], [() => pool.end()]);
