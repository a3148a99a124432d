import { answerWithin } from '@lab/shared/http';
import type { Kafka } from '@lab/shared/kafka';

export interface PartitionPosition {
  partition: number;
  /** Next offset the projector will read (its committed offset); -1 before its first commit. */
  committed: number;
  /** Offset the next published event will get. */
  end: number;
  /** Events published to this partition that the projector has not yet committed. */
  lagEvents: number;
}

export interface ConsumerPosition {
  partitions: PartitionPosition[];
  /** Messages in the dead-letter topic (its end minus its start, over every partition). */
  deadLetters: number;
}

const ANSWER_WITHIN_MS = 1000;

/**
 * Where the projector's consumer group stands on the event topic, read from the broker with
 * one long-lived admin client (the same figures as the `cqrs_projector_lag_events` gauge, per
 * partition). Null while the broker does not answer.
 */
export function consumerPosition(kafka: Kafka, topic: string, groupId: string) {
  const admin = kafka.admin();
  const deadLetterTopic = `${topic}.dlq`;
  let connected: Promise<void> | undefined;
  const read = async (): Promise<ConsumerPosition> => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    await connected;
    const [ends, committed, letters] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
      // The dead-letter topic exists once the first poison event was parked.
      admin.fetchTopicOffsets(deadLetterTopic).catch(() => []),
    ]);
    const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]));
    return {
      partitions: ends
        .map((p) => {
          const at = done.get(p.partition) ?? -1;
          const end = Number(p.high);
          // No commit yet: the group starts from the beginning, so everything is lag.
          return {
            partition: p.partition,
            committed: at,
            end,
            lagEvents: Math.max(0, end - Math.max(Number(p.low), at)),
          };
        })
        .sort((a, b) => a.partition - b.partition),
      deadLetters: letters.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0),
    };
  };
  return {
    read: (): Promise<ConsumerPosition | null> => answerWithin(read(), ANSWER_WITHIN_MS, null),
    close: async () => {
      if (connected) await admin.disconnect();
    },
  };
}
