import {
  listDeadLetters as listFromTopic,
  replayDeadLetters as replayToTopic,
  type DeadLetter,
} from '@lab/cqrs-projector/dead-letters';
import { defaultNamespace, type LabNamespace } from '../services.ts';
import { eventTopic, labKafka } from '../topic.ts';

export type { DeadLetter };

/** Every message in the lab's dead-letter topic, with the reason the projector gave. */
export async function listDeadLetters(ns: LabNamespace): Promise<DeadLetter[]> {
  return listFromTopic(labKafka(ns), { topic: eventTopic(ns), prefix: ns.topicPrefix });
}

/** Sends the lab's dead letters back to the event topic, once each (see the projector's). */
export async function replayDeadLetters(ns: LabNamespace): Promise<number> {
  return replayToTopic(labKafka(ns), { topic: eventTopic(ns), prefix: ns.topicPrefix });
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** `pnpm lab cqrs dlq [list|replay]` */
export async function dlq(args: string[]): Promise<number> {
  const ns = defaultNamespace();
  const action = args[0] ?? 'list';
  if (action === 'list') {
    const letters = await listDeadLetters(ns);
    for (const l of letters)
      say(`${l.source}  ${l.summary}\n    reason: ${l.reason}\n    failed at ${l.failedAt}`);
    say(`${letters.length} dead letter(s)`);
    return 0;
  }
  if (action === 'replay') {
    say(`replayed ${await replayDeadLetters(ns)} dead letter(s) to the event topic`);
    return 0;
  }
  say('usage: pnpm lab cqrs dlq [list|replay]');
  return 2;
}
