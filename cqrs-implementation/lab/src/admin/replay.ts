import type { LabNamespace } from '../stack.ts';
import { eventTopic, labKafka, projectorGroup } from './topic.ts';

/**
 * Rewinds the projector's consumer group to the start of the event topic, so the next
 * projector to start re-applies every event. The group must be empty (projectors stopped):
 * Kafka refuses to move offsets under a running member.
 */
export async function rewindProjector(ns: LabNamespace): Promise<void> {
  const admin = labKafka(ns).admin();
  await admin.connect();
  try {
    await admin.resetOffsets({
      groupId: projectorGroup(ns),
      topic: eventTopic(ns),
      earliest: true,
    });
  } finally {
    await admin.disconnect();
  }
}
