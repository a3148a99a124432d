import { answerWithin } from '@lab/shared/http';
import type { Kafka } from '@lab/shared/kafka';

export interface PartitionEnd {
  partition: number;
  /** The offset the next event published to this partition will get. */
  end: number;
}

const ANSWER_WITHIN_MS = 1000;

/**
 * The event topic's end offsets, from one long-lived admin client: a consumer's committed
 * offsets against these ends are its lag, even while that consumer is down and cannot say so.
 * Null while the broker does not answer.
 */
export function topicEnds(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  let connected: Promise<void> | undefined;
  const read = async (): Promise<PartitionEnd[]> => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    await connected;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map((p) => ({ partition: p.partition, end: Number(p.high) }))
      .sort((a, b) => a.partition - b.partition);
  };
  return {
    read: (): Promise<PartitionEnd[] | null> => answerWithin(read(), ANSWER_WITHIN_MS, null),
    close: async () => {
      if (connected) await admin.disconnect();
    },
  };
}
