/**
 * The relay: moves committed outbox events to Kafka. It is the only path from the write model
 * to the read side, so it must neither lose an event (gap problem) nor reorder one
 * aggregate's events, and it must stay correct when several relays run at once.
 */
import { withExerciseSeams } from '@lab/shared/exercise';
import { createApp, onShutdown, start } from '@lab/shared/http';
import { createKafka } from '@lab/shared/kafka';
import { createLogger } from '@lab/shared/logging';
import { createPool, databaseUrlFor } from '@lab/shared/pg';
import { readConfig } from './config.ts';
import { outboxBacklog, RELAY_POOL } from './data-access/outbox-claim.ts';
import { createRelay } from './domain/relay.ts';
import { runRelayLoop } from './entry-points/outbox/relay-loop.ts';
import { createOutboxDoorbell } from './entry-points/outbox/outbox-listener.ts';
import { statusRoutes } from './entry-points/api/status.routes.ts';
import { topicEnds } from './infrastructure/topic-ends.ts';
import { registerBacklogGauge } from './infrastructure/relay-metrics.ts';
import { relaySeams } from './seams.ts';

const config = readConfig();
const logger = createLogger('relay', config.LOG_LEVEL);
const databaseUrl = databaseUrlFor(config.DATABASE_URL, config.DATABASE_NAME);
// A batch holds one connection from its claim to its commit; the others answer /status and the
// backlog gauge while a batch is out.
const pool = createPool(databaseUrl, { ...RELAY_POOL, max: 4, logger });
const kafka = createKafka('cqrs-relay', config.KAFKA_BROKERS, logger);
const topic = `${config.KAFKA_TOPIC_PREFIX}cqrs.events`;

const { claim } = await withExerciseSeams('relay', relaySeams, config, logger);

registerBacklogGauge(() => outboxBacklog(pool));

const doorbell = createOutboxDoorbell(databaseUrl, logger);
const relay = createRelay({
  pool,
  kafka,
  topic,
  claim,
  batchSize: config.RELAY_BATCH_SIZE,
});
let stopped = false;
const loop = runRelayLoop(relay, {
  pollMs: config.RELAY_POLL_MS,
  logger,
  waitForWork: doorbell.wait,
  working: doorbell.working,
  stopped: () => stopped,
});

const ends = topicEnds(kafka, topic);
const app = createApp({
  service: 'relay',
  logger,
  readiness: {
    postgres: () => pool.query('SELECT 1'),
    // The relay's work is publishing: with the broker away it serves nothing.
    kafka: async () => {
      if ((await ends.read()) === null) throw new Error('Kafka does not answer');
    },
  },
  routes: (routes) => {
    statusRoutes(routes, { pool, topic, ends });
  },
});
const server = await start(app, config.PORT, config.HOST);
logger.info({ url: server.url, topic }, 'listening');
onShutdown(
  logger,
  [server],
  [
    async () => {
      stopped = true;
      doorbell.wake();
      await loop;
      await relay.dropProducer();
    },
    () => doorbell.close(),
    () => ends.close(),
    () => pool.end(),
  ],
);
