/**
 * The projector: turns the event stream into Redis read models. It owns no source of truth:
 * everything it writes is rebuilt by replaying the event topic, which it keeps for ever (the
 * healer does so when Redis forgot the read model; `POST /admin/rebuilds`, behind
 * `pnpm lab cqrs rebuild`, into a new generation).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { withExerciseSeams } from '@lab/shared/exercise';
import { isDependencyUnavailable } from '@lab/shared/errors';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createKafka } from '@lab/shared/kafka';
import { createLogger } from '@lab/shared/logging';
import { createRedis } from '@lab/shared/redis';
import { readConfig } from './config.ts';
import { createReadModelRepository } from './data-access/read-model.repository.ts';
import { startProjector } from './entry-points/kafka/events.consumer.ts';
import { createRebuildSteps } from './entry-points/kafka/read-model-rebuild.ts';
import { createHealer, keepEventLog } from './entry-points/kafka/read-model-healer.ts';
import { adminRoutes } from './entry-points/api/admin.routes.ts';
import { statusRoutes } from './entry-points/api/status.routes.ts';
import { deadLetterRoutes } from './entry-points/api/dead-letters.routes.ts';
import { consumerPosition } from './infrastructure/consumer-position.ts';
import { registerLagGauge } from './infrastructure/lag-metrics.ts';
import { projectorSeams } from './seams.ts';

const config = readConfig();
const logger = createLogger('projector', config.LOG_LEVEL);
const redis = createRedis(config.REDIS_URL, { logger });
const kafka = createKafka('cqrs-projector', config.KAFKA_BROKERS, logger);
const topic = `${config.KAFKA_TOPIC_PREFIX}cqrs.events`;
const groupId = `${config.KAFKA_TOPIC_PREFIX}cqrs-projector`;
const store = createReadModelRepository(redis, config.REDIS_KEY_PREFIX);

const chaos = config.LAB_CHAOS
  ? {
      applyDelayMs: config.PROJECTOR_APPLY_DELAY_MS,
      poisonTypes: config.PROJECTOR_POISON_TYPES,
      rebuildPauseMs: config.PROJECTOR_REBUILD_PAUSE_MS,
    }
  : { applyDelayMs: 0, poisonTypes: [], rebuildPauseMs: 0 };
if (config.LAB_CHAOS) logger.warn(chaos, 'chaos knobs active');

const { createProjection, rebuildReadModel } = await withExerciseSeams(
  'projector',
  projectorSeams,
  config,
  logger,
);
const extra = createProjection(redis, config.REDIS_KEY_PREFIX);

const healer = createHealer({ kafka, topic, groupId, store, logger });

// The store can forget the read model while no event flows (a Redis restarted empty keeps
// nothing on these machines): look at the checkpoint at start, on every reconnect and
// periodically, not only when the next event fails to apply.
const checkCheckpoint = () => {
  healer.check().catch((error: unknown) => {
    logger.warn({ err: error }, 'cannot check the read-model checkpoint; will retry');
  });
};
let stopping = false;
const stopped = () => stopping;
const rebuildSteps = createRebuildSteps({
  kafka,
  topic,
  groupId,
  store,
  logger,
  stopped,
  pauseMs: chaos.rebuildPauseMs,
});
// Started once consuming; cleared on shutdown, whenever that comes.
const checkpoints: { timer?: NodeJS.Timeout } = {};

const position = consumerPosition(kafka, topic, groupId);
registerLagGauge(position);
let consumer: Awaited<ReturnType<typeof startProjector>> | undefined;
const app = createApp({
  service: 'projector',
  logger,
  readiness: {
    redis: () => redis.ping(),
    // Listening from the start, so a broker away at boot shows here instead of as a closed port.
    consuming: () =>
      consumer
        ? Promise.resolve()
        : Promise.reject(new Error('not consuming the event topic yet: is Kafka reachable?')),
    kafka: async () => {
      if ((await position.read()) === null) throw new Error('Kafka does not answer');
    },
  },
  routes: (routes) => {
    adminRoutes(
      routes,
      (options) => rebuildReadModel(rebuildSteps, options),
      () => rebuildSteps.buildingGeneration(),
    );
    statusRoutes(routes, { topic, groupId, position, checkpointState: store.checkpointState });
    deadLetterRoutes(
      routes,
      kafka,
      { topic, prefix: config.KAFKA_TOPIC_PREFIX },
      { timeoutMs: config.PROJECTOR_DEAD_LETTERS_TIMEOUT_MS },
    );
  },
});
const server = await start(app, config.PORT, config.HOST);
logger.info({ url: server.url, topic, groupId }, 'listening');
onShutdown(
  logger,
  [server],
  [
    async () => {
      stopping = true;
      clearInterval(checkpoints.timer);
      await healer.stop();
    },
    async () => {
      await consumer?.stop();
    },
    () => position.close(),
    // QUIT needs a live connection; with Redis down it is refused, and a refused QUIT must
    // not turn a clean SIGTERM into a failed shutdown: drop the socket instead.
    () =>
      redis.quit().then(
        () => undefined,
        () => {
          redis.disconnect();
        },
      ),
  ],
);

// A broker that is starting or away (not up yet, a topic whose leader is still being elected)
// refuses the first requests: a reason to keep trying, with /readyz saying why, not to exit,
// however long it stays away. Anything else (a bug, a bad setting) gives up after 30 tries in
// a row.
let unrecognised = 0;
for (let attempt = 1; !consumer && !stopped(); attempt++) {
  try {
    consumer = await startProjector({
      kafka,
      topic,
      groupId,
      store,
      logger,
      sessionTimeoutMs: config.PROJECTOR_SESSION_TIMEOUT_MS,
      chaos,
      extra,
      healer,
    });
  } catch (error) {
    unrecognised = isDependencyUnavailable(error) ? 0 : unrecognised + 1;
    if (unrecognised >= 30) throw error;
    logger.warn({ err: error, attempt }, 'cannot start consuming yet; retrying');
    await sleep(Math.min(2000, 200 * attempt));
  }
}

if (stopped()) {
  // Shut down while starting: a consumer that joined after the shutdown hook ran leaves too.
  await consumer?.stop();
} else {
  await keepEventLog(kafka, topic, logger);
  checkCheckpoint();
  redis.on('ready', checkCheckpoint);
  checkpoints.timer = setInterval(checkCheckpoint, config.PROJECTOR_CHECKPOINT_CHECK_MS);
  checkpoints.timer.unref();
}
