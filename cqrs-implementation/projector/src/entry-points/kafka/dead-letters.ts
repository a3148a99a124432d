/**
 * The dead-letter topic, read and replayed: where the projector parks an event it cannot apply
 * (a poison message) so the partition behind it keeps moving. The operator reads why each was
 * parked, fixes the cause, then replays them (`GET /dead-letters`, `POST /dead-letters/replays`
 * on the projector; `pnpm lab cqrs dlq [list|replay]` calls the same functions).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaMessage } from 'kafkajs';
import { dependencyUnavailable } from '@lab/shared/errors';
import {
  DEAD_LETTER_HEADERS,
  createProducer,
  headersToCarrier,
  type Kafka,
} from '@lab/shared/kafka';

export interface DeadLetter {
  partition: number;
  offset: string;
  reason: string;
  source: string;
  failedAt: string;
  key: string | undefined;
  summary: string;
}

/** Names, as the projector derives them from its topic prefix. */
export interface DeadLetterTopics {
  /** The event topic the projector consumes; its dead letters are in `<topic>.dlq`. */
  topic: string;
  /** KAFKA_TOPIC_PREFIX, which also prefixes the replayer's consumer group. */
  prefix: string;
}

function summarise(value: Buffer | null): string {
  try {
    const event = JSON.parse(value?.toString() ?? '') as Record<string, unknown>;
    return `${String(event.type)} ${String(event.aggregateType)}:${String(event.aggregateId)} v${String(event.aggregateVersion)}`;
  } catch {
    return `${value?.length ?? 0} bytes, not JSON`;
  }
}

/**
 * How long listing or replaying the dead letters may take, connecting to the broker included,
 * before it gives up with dependency-unavailable (a 503 on the projector's routes): kafkajs
 * alone retries a refused connection for about half a minute, and a consumer that can no
 * longer fetch would wait for ever.
 */
export const DEAD_LETTERS_TIMEOUT_MS = 30_000;

const unreadable = (topic: string) =>
  dependencyUnavailable(new Error(`timed out reading ${topic} to its end`));

/**
 * `work`, or dependency-unavailable once `deadline` (epoch ms) passed. Abandoned work carries
 * on in kafkajs: `release` undoes what it made if it still succeeds (a connection, say).
 */
async function beforeDeadline<T>(
  work: Promise<T>,
  deadline: number,
  topic: string,
  release?: (value: T) => Promise<unknown>,
): Promise<T> {
  const timer = new AbortController();
  const timeout = sleep(Math.max(0, deadline - Date.now()), undefined, {
    signal: timer.signal,
    ref: false,
  }).then(() => {
    void work.then(
      (value) => release?.(value).catch(() => undefined),
      () => undefined,
    );
    throw unreadable(topic);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    timer.abort();
  }
}

/**
 * Reads a topic from a consumer group's committed position (or the beginning) up to the end
 * it had when the call started, then stops. With `commit`, each message's offset is committed
 * after `handle` resolved, so a second call carries on where the first stopped. A topic that
 * does not exist holds nothing to read: it is not created (the projector creates its
 * dead-letter topic when it starts), so listing the dead letters of a lab that was reset
 * leaves it as reset. Not done within `timeoutMs`, connecting included, it throws
 * dependency-unavailable.
 */
export async function readToEnd(
  kafka: Kafka,
  topic: string,
  groupId: string,
  handle: (message: KafkaMessage, partition: number) => Promise<void>,
  options: { commit: boolean; timeoutMs?: number },
): Promise<number> {
  const deadline = Date.now() + (options.timeoutMs ?? DEAD_LETTERS_TIMEOUT_MS);
  const inTime = <T>(work: Promise<T>, release?: (value: T) => Promise<unknown>) =>
    beforeDeadline(work, deadline, topic, release);
  const admin = kafka.admin();
  let ends: Awaited<ReturnType<typeof admin.fetchTopicOffsets>>;
  let committed: Awaited<ReturnType<typeof admin.fetchOffsets>>;
  try {
    await inTime(admin.connect(), () => admin.disconnect());
    if (!(await inTime(admin.listTopics())).includes(topic)) return 0;
    ends = await inTime(admin.fetchTopicOffsets(topic));
    committed = await inTime(admin.fetchOffsets({ groupId, topics: [topic] }));
  } finally {
    await admin.disconnect();
  }
  const next = new Map<number, number>();
  for (const p of ends) next.set(p.partition, Number(p.low));
  for (const p of committed[0]?.partitions ?? [])
    if (Number(p.offset) >= 0)
      next.set(p.partition, Math.max(next.get(p.partition) ?? 0, Number(p.offset)));
  const done = () => ends.every((p) => (next.get(p.partition) ?? 0) >= Number(p.high));
  if (done()) return 0;

  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  let handled = 0;
  try {
    await inTime(consumer.connect(), () => consumer.disconnect());
    await inTime(consumer.subscribe({ topic, fromBeginning: true }));
    await inTime(
      consumer.run({
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
      }),
    );
    // A broker gone after the consumer joined leaves it retrying in the background.
    while (!done()) {
      if (Date.now() > deadline) throw unreadable(topic);
      await sleep(50);
    }
    return handled;
  } finally {
    // Past the deadline the answer does not wait for the consumer to leave its group: a join
    // still in flight holds that up to the group's rebalance timeout. It leaves meanwhile.
    const leaving = consumer.disconnect().catch(() => undefined);
    if (Date.now() <= deadline) await leaving;
  }
}

/** Every message in the dead-letter topic, with the reason the projector gave. */
export async function listDeadLetters(
  kafka: Kafka,
  names: DeadLetterTopics,
  options: { timeoutMs?: number } = {},
): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  const groupId = `${names.prefix}cqrs-dlq-list-${randomUUID()}`;
  const timeoutMs = options.timeoutMs ?? DEAD_LETTERS_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  await readToEnd(
    kafka,
    `${names.topic}.dlq`,
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
    { commit: false, timeoutMs },
  );
  // Tidying only: the letters are read, and the group committed nothing. Not waited for past
  // the deadline; it disconnects whenever it ends.
  const admin = kafka.admin();
  const tidy = admin
    .connect()
    .then(() => admin.deleteGroups([groupId]))
    .catch(() => undefined)
    .finally(() => admin.disconnect());
  await beforeDeadline(tidy, deadline, `${names.topic}.dlq`).catch(() => undefined);
  return letters;
}

/**
 * Sends dead letters back to the event topic, once each: the replayer's consumer group
 * remembers how far it got. Replay after fixing what made them poison; an event the projector
 * still rejects simply returns to the dead-letter topic. The projector's version check makes a
 * replayed event that is now stale a no-op, so replay never moves a view backwards.
 */
export async function replayDeadLetters(
  kafka: Kafka,
  names: DeadLetterTopics,
  options: { timeoutMs?: number } = {},
): Promise<number> {
  const deadline = Date.now() + (options.timeoutMs ?? DEAD_LETTERS_TIMEOUT_MS);
  const producer = await beforeDeadline(
    createProducer(kafka),
    deadline,
    `${names.topic}.dlq`,
    (late) => late.disconnect(),
  );
  try {
    return await readToEnd(
      kafka,
      `${names.topic}.dlq`,
      `${names.prefix}cqrs-dlq-replay`,
      async (message) => {
        const headers = Object.fromEntries(
          Object.entries(headersToCarrier(message.headers)).filter(
            ([name]) => !name.startsWith('dlq-'),
          ),
        );
        await producer.send({
          topic: names.topic,
          acks: -1,
          messages: [{ key: message.key, value: message.value, headers }],
        });
      },
      { commit: true, timeoutMs: Math.max(0, deadline - Date.now()) },
    );
  } finally {
    await producer.disconnect();
  }
}
