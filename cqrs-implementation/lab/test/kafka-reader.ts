import { createKafka, ensureTopics } from '@lab/shared/kafka';
import { createLogger } from '@lab/shared/logging';

export interface SeenEvent {
  aggregateId: string;
  aggregateVersion: number;
  type: string;
  partition: number;
  offset: number;
}

/** Reads the lab's event topic from the beginning into an array, as an independent observer. */
export async function readEventTopic(brokers: string, topic: string) {
  const kafka = createKafka(
    'cqrs-test-reader',
    brokers.split(','),
    createLogger('reader', 'error'),
  );
  await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  const consumer = kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: SeenEvent[] = [];
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      const value = JSON.parse(message.value?.toString() ?? '{}') as SeenEvent;
      seen.push({ ...value, partition, offset: Number(message.offset) });
      return Promise.resolve();
    },
  });
  return {
    seen,
    of: (aggregateId: string) =>
      seen.filter((e) => e.aggregateId === aggregateId).map((e) => e.aggregateVersion),
    stop: () => consumer.disconnect(),
  };
}
