import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from '@lab/shared/kafka';
import type { ApplyOutcome } from '../../data-access/read-model.repository.ts';
import { EventEnvelope } from '../../domain/events.ts';
import { projectEvent } from '../../domain/project-event.ts';
import type { ViewUpdate } from '../../domain/product-view.projection.ts';

export interface ReplayOptions {
  kafka: Kafka;
  topic: string;
  /** The projector's group id; the replay reads with a throwaway group named after it. */
  groupId: string;
  /** Per partition, the offset to stop before (the log's end when the replay was decided). */
  until: Map<number, number>;
  apply: (update: ViewUpdate) => Promise<ApplyOutcome>;
  /** Asked every `checkEveryMs` while the replay runs; false ends it (a lost lease, say). */
  keepGoing?: () => Promise<boolean>;
  checkEveryMs?: number;
  stopped: () => boolean;
  /** Applies one event at a time with this pause between them, to make a replay visible. */
  pauseMs?: number;
  /**
   * Gives up when nothing arrived for this long while partitions remain: the broker cannot be
   * read, and kafkajs would retry in the background for as long as it is away. The result then
   * says `stalled`. Unset, the replay waits for the broker however long that takes.
   */
  stallMs?: number;
}

/**
 * Reads every partition of the event topic from offset 0 up to `until` and applies each event
 * with `apply`, with a throwaway consumer group so the live projector's offsets stay where
 * they are. Both the healer (an emptied Redis) and a rebuild (a new generation) are this
 * replay: the topic is the read side's source of truth. A poison event is skipped: the live
 * consumer dead-lettered it when it first came by. `ok` is false when the replay was ended
 * before it reached `until` everywhere, or when the store said `lost`.
 */
export async function replayEventLog(
  options: ReplayOptions,
): Promise<{ ok: boolean; events: number; stalled: boolean }> {
  const { kafka, topic, until } = options;
  const remaining = new Set([...until].filter(([, end]) => end > 0).map(([p]) => p));
  if (remaining.size === 0) return { ok: true, events: 0, stalled: false };
  const replayGroup = `${options.groupId}.replay.${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId: replayGroup,
    allowAutoTopicCreation: false,
    maxBytes: 1024 * 1024,
    maxBytesPerPartition: 256 * 1024,
  });
  let aborted = false;
  let stalled = false;
  let events = 0;
  let lastProgress = Date.now();
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) aborted = true;
  });
  const applyMessage = async (value: Buffer | null): Promise<ApplyOutcome | 'skipped'> => {
    let update;
    try {
      const parsed = EventEnvelope.safeParse(JSON.parse(value?.toString() ?? ''));
      if (!parsed.success) return 'skipped';
      update = projectEvent(parsed.data);
    } catch {
      return 'skipped';
    }
    return options.apply(update);
  };
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      // As the live consumer: the topic's three partitions in parallel, each in order.
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        lastProgress = Date.now();
        const end = until.get(batch.partition) ?? 0;
        const wanted = batch.messages.filter((m) => Number(m.offset) < end);
        const outcomes: (ApplyOutcome | 'skipped')[] = [];
        if (options.pauseMs)
          for (const message of wanted) {
            outcomes.push(await applyMessage(message.value));
            lastProgress = Date.now();
            await sleep(options.pauseMs);
          }
        else outcomes.push(...(await Promise.all(wanted.map((m) => applyMessage(m.value)))));
        events += wanted.length;
        if (outcomes.includes('lost')) aborted = true;
        if (wanted.some((m) => Number(m.offset) >= end - 1)) remaining.delete(batch.partition);
      },
    });
    let checkedAt = Date.now();
    while (remaining.size > 0 && !aborted && !options.stopped()) {
      await sleep(50);
      if (options.stallMs !== undefined && Date.now() - lastProgress >= options.stallMs) {
        stalled = true;
        break;
      }
      if (options.keepGoing && Date.now() - checkedAt >= (options.checkEveryMs ?? 1000)) {
        if (!(await options.keepGoing())) aborted = true;
        checkedAt = Date.now();
      }
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    const tidy = admin
      .connect()
      .then(() => admin.deleteGroups([replayGroup]))
      .catch(() => undefined)
      .finally(() => admin.disconnect());
    // A broker that stopped answering would hold the caller for kafkajs' whole retry budget.
    if (stalled) void tidy;
    else await tidy;
  }
  return { ok: remaining.size === 0 && !aborted && !stalled, events, stalled };
}

/** The topic's end per partition now; a partition with nothing left to read is not waited for. */
export async function eventLogEnds(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    return {
      until: new Map(
        ends.map((p) => [p.partition, Number(p.high) > Number(p.low) ? Number(p.high) : 0]),
      ),
      trimmed: ends.filter((p) => Number(p.low) > 0).map((p) => p.partition),
    };
  } finally {
    await admin.disconnect();
  }
}
