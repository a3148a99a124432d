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
  const ns = defaultNamespace();
  // Before the first event (a fresh clone, or after reset) there is no log to replay: said as
  // such, as verify says it of a database not yet made, rather than as the broker's refusal.
  const admin = labKafka(ns).admin();
  await admin.connect();
  const topics = await admin.listTopics().finally(() => admin.disconnect());
  if (!topics.includes(eventTopic(ns))) {
    process.stderr.write(
      `replay: the event topic ${eventTopic(ns)} does not exist yet; start the lab once (pnpm lab cqrs up) and send it some commands\n`,
    );
    return 2;
  }
  await rewindProjector(ns);
  say('projector group rewound to the beginning of the topic; start the projector to replay');
  return 0;
}
