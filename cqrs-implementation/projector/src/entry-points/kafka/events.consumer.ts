import { setTimeout as sleep } from 'node:timers/promises';
import { PoisonMessageError, startConsumer, type Kafka } from '@lab/shared/kafka';
import type { Logger } from '@lab/shared/logging';
import { counter, histogram } from '@lab/shared/metrics';
import type { createReadModelRepository } from '../../data-access/read-model.repository.ts';
import { EventEnvelope } from '../../domain/events.ts';
import { projectEvent } from '../../domain/project-event.ts';
import type { Healer } from './read-model-healer.ts';

const events = counter('cqrs_projector_events_total', 'Events handled by outcome', ['outcome']);
const deadLettered = counter(
  'cqrs_projector_dead_lettered_total',
  'Events sent to the dead-letter topic',
);
const lag = histogram(
  'cqrs_projector_lag_seconds',
  'From the command committing the event (outbox insert) to the read model reflecting it',
  [],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
);
for (const outcome of ['applied', 'duplicate', 'stale']) events.inc({ outcome }, 0);

/** An extra read model fed by the same consumer, after the core views of each event. */
export type ExtraProjection = (event: EventEnvelope) => Promise<void>;

export interface ProjectorOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  store: ReturnType<typeof createReadModelRepository>;
  logger: Logger;
  sessionTimeoutMs: number;
  chaos: { applyDelayMs: number; poisonTypes: string[] };
  extra?: ExtraProjection | undefined;
  healer: Healer;
}

/**
 * The projector: a consumer group reading the event topic. startConsumer commits an offset
 * only after this handler resolved, so a crash means redelivery, never a skipped event; the
 * version check in the store makes redelivery harmless.
 */
export function startProjector(options: ProjectorOptions) {
  const { store, logger, chaos } = options;
  return startConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.topic],
    deadLetterTopic: `${options.topic}.dlq`,
    schema: EventEnvelope,
    logger,
    sessionTimeoutMs: options.sessionTimeoutMs,
    // One at a time per partition of the event topic (the relay creates three): partitions
    // apply in parallel, each in its own order, which is per aggregate.
    partitionsConsumedConcurrently: 3,
    // A catch-up fetch comes back full and is decoded into message objects all at once; these
    // caps keep one fetch (~1,000 events) well inside the projector's small heap (its start
    // script's --max-old-space-size=64), which bounds its RSS while it catches up.
    maxBytes: 512 * 1024,
    maxBytesPerPartition: 128 * 1024,
    onDeadLetter: () => {
      deadLettered.inc();
    },
    batch: {
      // Everything that can make an event poison is found before anything is written.
      prepare: (event) => {
        if (chaos.poisonTypes.includes(event.type))
          throw new PoisonMessageError(`chaos: projector configured to reject ${event.type}`);
        return { event, update: projectEvent(event) };
      },
      handle: async (batch, consuming) => {
        if (chaos.applyDelayMs > 0) {
          logger.debug({ events: batch.length }, 'chaos: holding the batch before applying it');
          await sleep(chaos.applyDelayMs * batch.length);
        }
        const apply = ({ value, meta, inSpan }: (typeof batch)[number]) =>
          inSpan(() =>
            store.apply(value.update, '', { partition: meta.partition, offset: meta.offset }),
          );
        // One round trip for a partition's batch instead of one per event: every apply is sent
        // before the first reply is read. Redis runs them in the order sent, each its own
        // atomic script with its own version check, so this is the one-by-one order.
        const outcomes = await Promise.all(batch.map(apply));
        for (const [i, prepared] of batch.entries()) {
          const { event } = prepared.value;
          let outcome = outcomes[i];
          // The store forgot the read model: start the heal (it recreates the checkpoint), then
          // apply this event on top. Until then it is not committed, so nothing is skipped.
          while (outcome === 'lost') {
            // Only a running healer recreates the checkpoint: once it or the consumer stops, give
            // the batch up uncommitted (it comes again) instead of holding the shutdown for ever.
            if (!consuming() || options.healer.stopped())
              throw new Error('the read model is gone and no heal will recreate it: stopping');
            await options.healer.check();
            outcome = await apply(prepared);
            if (outcome === 'lost') await sleep(200);
          }
          await options.extra?.(event);
          events.inc({ outcome });
          if (outcome === 'applied')
            lag.observe(Math.max(0, Date.now() - Date.parse(event.occurredAt)) / 1000);
          else
            logger.debug(
              { outcome, aggregateId: event.aggregateId, version: event.aggregateVersion },
              'event ignored',
            );
        }
      },
    },
  });
}
