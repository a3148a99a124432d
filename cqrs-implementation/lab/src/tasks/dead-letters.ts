import { randomUUID } from 'node:crypto';
import { DEAD_LETTER_HEADERS, createProducer, headersToCarrier } from '@lab/shared/kafka';
import { defaultNamespace, type LabNamespace } from '../services.ts';
import { deadLetterTopic, eventTopic, labKafka, readToEnd } from '../topic.ts';

export interface DeadLetter {
  partition: number;
  offset: string;
  reason: string;
  source: string;
  failedAt: string;
  key: string | undefined;
  summary: string;
}

function summarise(value: Buffer | null): string {
  try {
    const event = JSON.parse(value?.toString() ?? '') as Record<string, unknown>;
    return `${String(event.type)} ${String(event.aggregateType)}:${String(event.aggregateId)} v${String(event.aggregateVersion)}`;
  } catch {
    return `${value?.length ?? 0} bytes, not JSON`;
  }
}

/** Every message in the dead-letter topic, with the reason the projector gave. */
export async function listDeadLetters(ns: LabNamespace): Promise<DeadLetter[]> {
  const kafka = labKafka(ns);
  const letters: DeadLetter[] = [];
  const groupId = `${ns.topicPrefix}cqrs-dlq-list-${randomUUID()}`;
  await readToEnd(
    kafka,
    deadLetterTopic(ns),
    groupId,
    (message, partition) => {
      const headers = headersToCarrier(message.headers);
      letters.push({
        partition,
        offset: message.offset,
        reason: headers[DEAD_LETTER_HEADERS.reason] ?? '',
        source: `${headers[DEAD_LETTER_HEADERS.topic] ?? '?'}#${headers[DEAD_LETTER_HEADERS.partition] ?? '?'}@${headers[DEAD_LETTER_HEADERS.offset] ?? '?'}`,
        failedAt: headers[DEAD_LETTER_HEADERS.failedAt] ?? '',
        key: message.key?.toString(),
        summary: summarise(message.value),
      });
      return Promise.resolve();
    },
    { commit: false },
  );
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  return letters;
}

/**
 * Sends dead letters back to the event topic, once each: the replayer's consumer group
 * remembers how far it got. Replay after fixing what made them poison; an event the projector
 * still rejects simply returns to the dead-letter topic. The projector's version check makes a
 * replayed event that is now stale a no-op, so replay never moves a view backwards.
 */
export async function replayDeadLetters(ns: LabNamespace): Promise<number> {
  const kafka = labKafka(ns);
  const producer = await createProducer(kafka);
  try {
    return await readToEnd(
      kafka,
      deadLetterTopic(ns),
      `${ns.topicPrefix}cqrs-dlq-replay`,
      async (message) => {
        const headers = Object.fromEntries(
          Object.entries(headersToCarrier(message.headers)).filter(
            ([name]) => !name.startsWith('dlq-'),
          ),
        );
        await producer.send({
          topic: eventTopic(ns),
          acks: -1,
          messages: [{ key: message.key, value: message.value, headers }],
        });
      },
      { commit: true },
    );
  } finally {
    await producer.disconnect();
  }
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
