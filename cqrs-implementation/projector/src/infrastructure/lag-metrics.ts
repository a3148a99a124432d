import type { Kafka } from '@lab/shared/kafka';
import { gauge } from '@lab/shared/metrics';

/**
 * `cqrs_projector_lag_events`: how far the group's committed offsets trail the end of each
 * partition, read from the broker at each scrape (-1 while the broker does not answer).
 */
export function registerLagGauge(kafka: Kafka, topic: string, groupId: string) {
  const admin = kafka.admin();
  let adminConnected = false;
  gauge(
    'cqrs_projector_lag_events',
    'Events on the topic not yet committed by the projector',
    [],
    async function () {
      try {
        if (!adminConnected) {
          await admin.connect();
          adminConnected = true;
        }
        const [ends, committed] = await Promise.all([
          admin.fetchTopicOffsets(topic),
          admin.fetchOffsets({ groupId, topics: [topic] }),
        ]);
        const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]));
        this.set(
          ends.reduce(
            (sum, p) => sum + Math.max(0, Number(p.high) - Math.max(0, done.get(p.partition) ?? 0)),
            0,
          ),
        );
      } catch {
        this.set(-1);
      }
    },
  );
  return { close: () => (adminConnected ? admin.disconnect() : Promise.resolve()) };
}
