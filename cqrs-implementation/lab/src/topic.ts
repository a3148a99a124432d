import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaMessage } from 'kafkajs';
import { createKafka, ensureTopics, type Kafka } from '@lab/shared/kafka';
import { createLogger } from '@lab/shared/logging';
import type { LabNamespace } from './services.ts';

export const eventTopic = (ns: LabNamespace) => `${ns.topicPrefix}cqrs.events`;
export const deadLetterTopic = (ns: LabNamespace) => `${eventTopic(ns)}.dlq`;
export const projectorGroup = (ns: LabNamespace) => `${ns.topicPrefix}cqrs-projector`;

export function labKafka(ns: LabNamespace): Kafka {
  return createKafka('cqrs-lab', ns.kafkaBrokers.split(','), createLogger('cqrs-lab', 'error'));
}

/**
 * Reads a topic from a consumer group's committed position (or the beginning) up to the end
 * it had when the call started, then stops. With `commit`, each message's offset is committed
 * after `handle` resolved, so a second call carries on where the first stopped.
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  groupId: string,
  handle: (message: KafkaMessage, partition: number) => Promise<void>,
  options: { commit: boolean; timeoutMs?: number },
): Promise<number> {
  await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  await admin.disconnect();
  const next = new Map<number, number>();
  for (const p of ends) next.set(p.partition, Number(p.low));
  for (const p of committed[0]?.partitions ?? [])
    if (Number(p.offset) >= 0)
      next.set(p.partition, Math.max(next.get(p.partition) ?? 0, Number(p.offset)));
  const done = () => ends.every((p) => (next.get(p.partition) ?? 0) >= Number(p.high));
  if (done()) return 0;

  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let handled = 0;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const end = Number(ends.find((p) => p.partition === partition)?.high ?? 0);
      if (Number(message.offset) >= end) return;
      await handle(message, partition);
      handled += 1;
      const after = Number(message.offset) + 1;
      next.set(partition, after);
      if (options.commit)
        await consumer.commitOffsets([{ topic, partition, offset: String(after) }]);
    },
  });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!done()) {
    if (Date.now() > deadline) {
      await consumer.disconnect();
      throw new Error(`timed out reading ${topic} to its end`);
    }
    await sleep(50);
  }
  await consumer.disconnect();
  return handled;
}
