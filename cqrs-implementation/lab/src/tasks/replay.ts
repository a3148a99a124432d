import { defaultNamespace, type LabNamespace } from '../services.ts';
import { eventTopic, labKafka, projectorGroup } from '../topic.ts';

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

const say = (line: string) => process.stdout.write(`${line}\n`);

/** `pnpm lab cqrs replay`: rewind the (stopped) projector to the start of the topic. */
export async function replay(): Promise<number> {
  await rewindProjector(defaultNamespace());
  say('projector group rewound to the beginning of the topic; start the projector to replay');
  return 0;
}
