import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Kafka } from '@lab/shared/kafka';
import type { Logger } from '@lab/shared/logging';
import { counter, gauge } from '@lab/shared/metrics';
import type { createReadModelRepository } from '../../data-access/read-model.repository.ts';
import { eventLogEnds, replayEventLog } from './event-log-replay.ts';

const heals = counter(
  'cqrs_projector_heals_total',
  'Read models replayed from the event log after the store lost them, by result',
  ['result'],
);
let lastHealMs = 0;
gauge(
  'cqrs_projector_last_heal_seconds',
  'How long the last completed heal took, from detecting the loss to a complete read model',
  [],
  function () {
    this.set(lastHealMs / 1000);
  },
);
for (const result of ['completed', 'aborted']) heals.inc({ result }, 0);

// kafkajs is CommonJS: Node sees its enums only through the default export.
const TOPIC_RESOURCE = kafkajs.ConfigResourceTypes.TOPIC;

export interface HealerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  store: ReturnType<typeof createReadModelRepository>;
  logger: Logger;
  /** A healer that stops renewing its lease this long is presumed dead; another one takes over. */
  leaseMs?: number;
}

/**
 * The event topic is the read side's source of truth: a read model the store forgot is rebuilt
 * by replaying it. Kafka deletes old segments after the broker's retention (24 h on the local
 * broker), which would make a replay silently incomplete, so the projector keeps the event
 * topic for ever. Every event carries its aggregate's whole resulting state, so log compaction
 * keyed by aggregate would also do; it is not used because other consumers (the exercises'
 * extra read models, the dead-letter replays) want every event, not the last one per aggregate.
 */
export async function keepEventLog(kafka: Kafka, topic: string, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  try {
    // Inside the try: a broker gone since the consumer started is a warning, not an exit.
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: TOPIC_RESOURCE,
          name: topic,
          configEntries: [
            { name: 'retention.ms', value: '-1' },
            { name: 'retention.bytes', value: '-1' },
          ],
        },
      ],
    });
  } catch (error) {
    logger.warn({ err: error, topic }, 'cannot set the event topic to keep every event');
  } finally {
    await admin.disconnect();
  }
}

/**
 * Notices that Redis lost the read model (its checkpoint is gone) and heals it without an
 * operator: a heal first recreates the checkpoint as "healing until the log's current end",
 * so live events are applied again at once, then replays the topic from its beginning up to
 * that end with a throwaway consumer group. Replayed and live events interleave safely: each
 * event carries its aggregate's resulting state and the store's version check keeps the
 * highest version, whichever arrives first. While the checkpoint says "healing", the query
 * service answers 503 read-model-behind instead of 404 for views not replayed yet.
 */
export function createHealer(options: HealerOptions) {
  const { kafka, topic, store, logger } = options;
  const leaseMs = options.leaseMs ?? 10_000;
  const owner = `${process.pid}:${randomUUID()}`;
  let checking: Promise<void> | undefined;
  let replaying: Promise<void> | undefined;
  let stopped = false;

  /** Replays every partition from its start up to `until`; false when the heal was overtaken. */
  const replay = (until: Map<number, number>) =>
    replayEventLog({
      kafka,
      topic,
      groupId: options.groupId,
      until,
      apply: (update) => store.apply(update),
      // A store emptied again mid-heal (or a healer that took over) ends this replay.
      keepGoing: () => store.renewHeal(owner, leaseMs),
      checkEveryMs: leaseMs / 5,
      stopped: () => stopped,
    });

  const heal = async (until: Map<number, number>, detectedAt: number) => {
    const { ok, events } = await replay(until);
    if (ok && (await store.finishHeal(owner))) {
      lastHealMs = Date.now() - detectedAt;
      heals.inc({ result: 'completed' });
      logger.info({ events, durationMs: lastHealMs }, 'read model healed from the event log');
    } else {
      heals.inc({ result: 'aborted' });
      logger.warn({ events }, 'read-model heal overtaken; the next check starts another');
    }
  };

  /**
   * Starts a heal when one is due and resolves once live events may be applied again (the
   * checkpoint exists), not when the replay is done. Safe to call often: one check at a time,
   * and at most one replay per projector.
   */
  const check = (): Promise<void> =>
    (checking ??= (async () => {
      if (replaying || stopped) return;
      const state = await store.checkpointState();
      if (state === 'ready' || state === 'healing') return;
      const detectedAt = Date.now();
      const { until, trimmed } = await eventLogEnds(kafka, topic);
      if (!(await store.beginHeal(owner, Object.fromEntries(until), leaseMs))) return;
      if (trimmed.length > 0)
        logger.error(
          { topic, partitions: trimmed },
          'the event log no longer starts at offset 0: no replay (neither this heal nor a rebuild) can restore the events deleted from it',
        );
      logger.warn(
        { state, until: Object.fromEntries(until) },
        'no read-model checkpoint in Redis (new or emptied store); replaying the event log into it',
      );
      replaying = heal(until, detectedAt)
        .catch((error: unknown) => {
          heals.inc({ result: 'aborted' });
          logger.warn({ err: error }, 'read-model heal failed; the next check starts another');
        })
        .finally(() => {
          replaying = undefined;
        });
    })().finally(() => {
      checking = undefined;
    }));

  return {
    check,
    /** True once stop() was called: check() then starts no heal. */
    stopped: () => stopped,
    stop: async () => {
      stopped = true;
      await replaying;
    },
  };
}

export type Healer = ReturnType<typeof createHealer>;
