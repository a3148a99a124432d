import { withExerciseSeams } from '@lab/shared/exercise';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createLogger } from '@lab/shared/logging';
import { createPool, databaseUrlFor, migrateWhileListening } from '@lab/shared/pg';
import { loadOrchestratorConfig } from './config.ts';
import { ParticipantClient } from './data-access/participant.client.ts';
import { SAGA_LOG_POOL, SagaLog } from './data-access/saga-log.repository.ts';
import { stepRetrySettings } from './domain/book-trip.saga.ts';
import { validateSaga } from './domain/saga-definition.ts';
import { SagaRunner } from './domain/saga-runner.ts';
import { SagaWorker } from './domain/saga-worker.ts';
import { tripRoutes } from './entry-points/api/trips.routes.ts';
import { tripListRoutes } from './entry-points/api/trip-list.routes.ts';
import { crashSwitch } from './infrastructure/crash-points.ts';
import { unfinishedSagas } from './infrastructure/saga-metrics.ts';
import { orchestratorSeams } from './seams.ts';

const config = loadOrchestratorConfig();
const logger = createLogger('orchestrator', config.LOG_LEVEL);

const retry = stepRetrySettings({
  maxAttempts: config.STEP_MAX_ATTEMPTS,
  baseDelayMs: config.RETRY_BASE_MS,
  maxDelayMs: config.RETRY_MAX_MS,
  timeoutMs: config.STEP_TIMEOUT_MS,
  deadlineMs: config.STEP_DEADLINE_MS,
});
// The lab's exercises replace seams here (LAB_EXERCISE_MODULE, honoured only with LAB_CHAOS=1).
const { sagaDefinition, ...policy } = await withExerciseSeams(
  'orchestrator',
  orchestratorSeams,
  config,
  logger,
);
// A definition that could strand a saga (a compensatable step after the pivot, a missing
// compensation) stops the orchestrator here, before it accepts a single trip.
const definition = validateSaga(sagaDefinition(retry));
const firstStep = definition.steps[0];
if (!firstStep) throw new Error('the saga definition has no step');

const schema = migrateWhileListening({
  adminUrl: config.DATABASE_URL,
  database: config.DATABASE_NAME,
  dir: new URL('./data-access/migrations', import.meta.url).pathname,
  logger,
});
const pool = createPool(databaseUrlFor(config.DATABASE_URL, config.DATABASE_NAME), {
  ...SAGA_LOG_POOL,
  max: config.DB_POOL_SIZE,
  logger,
});
const log = new SagaLog(pool, config.LEASE_TTL_MS);
let shuttingDown = false;
// Nothing to count before the saga log's tables exist.
unfinishedSagas(() => (schema.migrated() ? log.countUnfinished() : Promise.resolve({})));

const client = new ParticipantClient({
  flights: config.FLIGHTS_URL,
  hotels: config.HOTELS_URL,
  cars: config.CARS_URL,
  payments: config.PAYMENTS_URL,
});
const crash = crashSwitch(config.LAB_CRASH_AT, config.LAB_CHAOS);
const runner = new SagaRunner({
  log,
  definition,
  client,
  policy,
  crash,
  logger,
  stuckAfter: config.COMPENSATION_STUCK_AFTER,
  stopping: () => shuttingDown,
});
const worker =
  config.SAGA_WORKER !== '0'
    ? new SagaWorker(log, runner, logger, {
        owner: config.ORCHESTRATOR_ID,
        claim: config.SAGA_WORKER === '1',
        pollMs: config.POLL_INTERVAL_MS,
        batch: config.CLAIM_BATCH,
        maxInFlight: config.MAX_IN_FLIGHT,
      })
    : undefined;

const app = createApp({
  service: 'orchestrator',
  logger,
  readiness: { postgres: schema.readiness(() => pool.query('SELECT 1')) },
  routes: (routes) => {
    routes.use(schema.gate);
    tripRoutes(routes, {
      log,
      worker,
      deadlineMs: config.SAGA_DEADLINE_MS,
      firstStep: { name: firstStep.name, deadlineMs: firstStep.retry.deadlineMs },
      crash,
    });
    tripListRoutes(routes, { pool, definition });
  },
});
const server = await start(app, config.PORT, config.HOST);
logger.info(
  {
    url: server.url,
    owner: config.ORCHESTRATOR_ID,
    saga: definition.name,
    worker: Boolean(worker),
  },
  'listening',
);
onShutdown(
  logger,
  [server],
  [
    async () => {
      shuttingDown = true;
      await worker?.stop();
    },
    () => client.close(),
    () => pool.end(),
  ],
);
// The saga log's tables first: the claim loop's first act reads them.
await schema.ready;
await worker?.start();
