import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DEAD_LETTER_HEADERS,
  createKafka,
  createProducer,
  ensureTopics,
  PoisonMessageError,
  publish,
  startConsumer,
  type Producer,
} from '../src/kafka.ts';
import { createLogger } from '../src/logging.ts';
import { shutdownTelemetry, startTelemetry } from '../src/telemetry/index.ts';
import { isDependencyUnavailable } from '../src/http/errors.ts';
import {
  deleteGroupsOnceEmpty,
  freePort,
  memorySpans,
  uniqueName,
  waitFor,
} from '../src/testkit/index.ts';

const spans = memorySpans();
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const logger = createLogger('kafka-test', 'warn');
const kafka = createKafka('kafka-test', brokers, logger);
const fixture = new URL('./fixtures/consumer.ts', import.meta.url).pathname;
const requestQueueFixture = new URL('./fixtures/request-queue-timers.ts', import.meta.url).pathname;
let producer: Producer;
const madeTopics: string[] = [];

function newTopic(prefix: string): string {
  const topic = uniqueName(prefix);
  madeTopics.push(topic);
  return topic;
}

interface Received {
  received: number;
  key: string;
  partition: number;
  traceId: string;
}

function consumerProcess(topic: string, groupId: string) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, TOPIC: topic, GROUP_ID: groupId },
  });
  const received: Received[] = [];
  // A pipe delivers chunks, not lines: the part after the last newline waits for the rest.
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const record = JSON.parse(line) as Partial<Received>;
      if (record.received !== undefined) received.push(record as Received);
    }
  });
  return { child, received };
}

/** SIGTERM (the fixture leaves its group and exits), then SIGKILL if it has not within 15 s. */
async function stopConsumer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const deadline = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(deadline);
}

beforeAll(async () => {
  await startTelemetry('kafka-test', spans.processor);
  producer = await createProducer(kafka);
});
afterAll(async () => {
  await producer.disconnect();
  // The next test file in this worker shares its modules, the telemetry's with the rest.
  await shutdownTelemetry();
  // Only now: a topic deleted while a producer still sends to others makes its next metadata
  // refresh fail. Each test's topics, dead-letter topics and consumer groups share its name.
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ours = (name: string) => madeTopics.some((topic) => name.startsWith(topic));
    const { groups } = await admin.listGroups();
    const groupIds = groups.map((group) => group.groupId).filter(ours);
    // A group whose member has not left yet refuses at first; it is asked again until it goes.
    await deleteGroupsOnceEmpty(admin, groupIds);
    const topics = (await admin.listTopics()).filter(ours);
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
});

describe('kafka', () => {
  it("When messages are produced, then a second process gets each once per consumer group, in key order, in the producer's trace", async () => {
    const topic = newTopic('orders');
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    const keys = ['a', 'b', 'c', 'd'];
    const messages = Array.from({ length: 40 }, (_, seq) => ({
      key: keys[seq % keys.length]!,
      value: { seq },
    }));
    await publish(producer, topic, messages);
    const producerSpans = spans.spans().filter((s) => s.name === `${topic} publish`);
    expect(producerSpans).toHaveLength(40);
    const traceOfSeq = new Map(producerSpans.map((s, seq) => [seq, s.spanContext().traceId]));

    // Group "two" splits the partitions between two processes; group "one" reads them all alone.
    const groupTwo = [
      consumerProcess(topic, `${topic}-two`),
      consumerProcess(topic, `${topic}-two`),
    ];
    const groupOne = [consumerProcess(topic, `${topic}-one`)];
    try {
      const all = (group: typeof groupOne) => group.flatMap((c) => c.received);
      await waitFor(
        'both groups to receive 40 messages',
        () => all(groupTwo).length >= 40 && all(groupOne).length >= 40,
        { timeoutMs: 45_000 },
      );

      for (const group of [groupOne, groupTwo]) {
        const seqs = all(group).map((r) => r.received);
        expect(seqs.sort((x, y) => x - y)).toEqual(messages.map((m) => m.value.seq));
        for (const key of keys) {
          const inKey = group.flatMap((c) =>
            c.received.filter((r) => r.key === key).map((r) => r.received),
          );
          expect(inKey).toEqual([...inKey].sort((x, y) => x - y));
        }
        for (const record of all(group))
          expect(record.traceId).toBe(traceOfSeq.get(record.received));
      }
    } finally {
      // Stopped, not killed: a consumer that leaves its group lets afterAll delete the group.
      await Promise.all([...groupOne, ...groupTwo].map(({ child }) => stopConsumer(child)));
    }
  });

  it('When a connection has answered a request, then kafkajs arms no negative timer to poll its empty queue (patched)', async () => {
    const topic = newTopic('request-queue');
    const child = spawn(process.execPath, [requestQueueFixture], {
      env: { ...process.env, TOPIC: topic },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // 'close' comes after both pipes ended, so the report line is complete.
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code, output).toBe(0);
    const report = JSON.parse(output.trim().split('\n').at(-1) ?? '') as {
      negativeTimers: number;
      warnings: string[];
    };
    expect(report).toEqual({ negativeTimers: 0, warnings: [] });
  });

  it('When a poison message arrives, then it lands on the dead-letter topic with its reason and the next one is consumed', async () => {
    const topic = newTopic('payments');
    const deadLetterTopic = `${topic}.dlq`;
    await ensureTopics(kafka, [
      { topic, partitions: 1 },
      { topic: deadLetterTopic, partitions: 1 },
    ]);
    await producer.send({ topic, messages: [{ key: 'k', value: 'not json at all' }] });
    await publish(producer, topic, [
      { key: 'k', value: { amountCents: 'ten' } },
      { key: 'k', value: { amountCents: 10 } },
    ]);

    const handled: number[] = [];
    const consumer = await startConsumer({
      kafka,
      groupId: `${topic}-group`,
      topics: [topic],
      deadLetterTopic,
      schema: z.object({ amountCents: z.number().int() }),
      logger,
      handle: (message) => {
        handled.push(message.amountCents);
        return Promise.resolve();
      },
    });

    const deadLetters: { reason: string; offset: string }[] = [];
    const dlqReader = kafka.consumer({ groupId: `${topic}-dlq-reader` });
    await dlqReader.connect();
    await dlqReader.subscribe({ topic: deadLetterTopic, fromBeginning: true });
    await dlqReader.run({
      eachMessage: ({ message }) => {
        const headers = message.headers ?? {};
        deadLetters.push({
          reason: String(headers[DEAD_LETTER_HEADERS.reason]),
          offset: String(headers[DEAD_LETTER_HEADERS.offset]),
        });
        return Promise.resolve();
      },
    });
    try {
      await waitFor(
        'the valid message and two dead letters',
        () => handled.length === 1 && deadLetters.length === 2,
        { timeoutMs: 30_000 },
      );
      expect(handled).toEqual([10]);
      expect(deadLetters.map((d) => d.offset)).toEqual(['0', '1']);
      expect(deadLetters[0]!.reason).toBe('not JSON');
      expect(deadLetters[1]!.reason).toMatch(/^schema: amountCents/);
    } finally {
      await consumer.stop();
      await dlqReader.disconnect();
    }
  });

  it('When a batch handler is set, then one fetch reaches it whole and in order, a failed batch comes again whole, and malformed and poison messages are parked once', async () => {
    const topic = newTopic('batched');
    const deadLetterTopic = `${topic}.dlq`;
    await ensureTopics(kafka, [
      { topic, partitions: 1 },
      { topic: deadLetterTopic, partitions: 1 },
    ]);
    // One send, so one fetch holds them all: offsets 0-5.
    const values = ['not json', '{"n":1}', '{"n":2}', '{"n":-1}', '{"n":3}', '{"n":4}'];
    await producer.send({ topic, messages: values.map((value) => ({ key: 'k', value })) });

    const batches: number[][] = [];
    const parked: { reason: string; offset: string }[] = [];
    const consumer = await startConsumer({
      kafka,
      groupId: `${topic}-group`,
      topics: [topic],
      deadLetterTopic,
      schema: z.object({ n: z.number().int() }),
      logger: createLogger('kafka-test', 'silent'),
      onDeadLetter: (reason, meta) => parked.push({ reason, offset: meta.offset }),
      batch: {
        prepare: ({ n }) => {
          if (n < 0) throw new PoisonMessageError('negative');
          return n;
        },
        handle: (batch) => {
          batches.push(batch.map((message) => message.value));
          // The first delivery fails as a store gone away would: nothing may be committed.
          return batches.length === 1
            ? Promise.reject(new Error('store unreachable'))
            : Promise.resolve();
        },
      },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = async () => {
        const [partition] =
          (await admin.fetchOffsets({ groupId: `${topic}-group`, topics: [topic] }))[0]
            ?.partitions ?? [];
        return partition?.offset;
      };
      // Once the group has committed past the last message, the batch call that did so is over.
      await waitFor('the batch to be committed', async () => (await committed()) === '6', {
        timeoutMs: 30_000,
      });
      expect(batches).toEqual([
        [1, 2, 3, 4],
        [1, 2, 3, 4],
      ]);
      expect(parked).toEqual([
        { reason: 'not JSON', offset: '0' },
        { reason: 'negative', offset: '3' },
      ]);
    } finally {
      await admin.disconnect();
      await consumer.stop();
    }
  });
});

/**
 * The network between this process and the broker, cut and restored at will: the shared
 * broker stays up for every other test, while this client sees it vanish (open connections
 * dropped, new ones refused) and come back.
 */
async function cuttableNetwork() {
  const nowhere = await freePort();
  const sockets = new Set<Socket>();
  let cut = false;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = connect({ host, port: cut ? nowhere : port }, onConnect);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  return {
    socketFactory,
    cut: () => {
      cut = true;
      // What the client sees when the broker's host goes away: its connections reset.
      for (const socket of sockets)
        socket.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    },
    restore: () => {
      cut = false;
    },
  };
}

describe('kafka outage', () => {
  it('When the broker goes away and comes back, then a producer send fails as dependency-unavailable meanwhile and the consumer resumes by itself', async () => {
    const topic = newTopic('outage');
    await ensureTopics(kafka, [{ topic, partitions: 1 }]);
    const network = await cuttableNetwork();
    const crashes: string[] = [];
    const cutOff = new Kafka({
      clientId: 'kafka-outage-test',
      brokers,
      socketFactory: network.socketFactory,
      connectionTimeout: 1000,
      retry: { initialRetryTime: 100, retries: 2 },
      logLevel: logLevel.ERROR,
      logCreator: () => (entry) => {
        if (entry.log.message.startsWith('Crash')) crashes.push(entry.log.message);
      },
    });
    const handled: number[] = [];
    const consumer = await startConsumer({
      kafka: cutOff,
      groupId: `${topic}-group`,
      topics: [topic],
      deadLetterTopic: `${topic}.dlq`,
      schema: z.object({ seq: z.number() }),
      logger,
      sessionTimeoutMs: 6000,
      handle: (message) => {
        handled.push(message.seq);
        return Promise.resolve();
      },
    });
    const cutProducer = await createProducer(cutOff);
    try {
      await publish(producer, topic, [{ key: 'k', value: { seq: 1 } }]);
      await waitFor('the first message', () => handled.includes(1), { timeoutMs: 30_000 });

      network.cut();
      const failure = await publish(cutProducer, topic, [{ key: 'k', value: { seq: 0 } }]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(isDependencyUnavailable(failure)).toBe(true);
      await waitFor('the consumer to crash on the lost broker', () => crashes.length > 0, {
        timeoutMs: 30_000,
      });

      network.restore();
      await publish(producer, topic, [{ key: 'k', value: { seq: 2 } }]);
      await waitFor('the message sent after the outage', () => handled.includes(2), {
        timeoutMs: 45_000,
      });
      expect(handled).not.toContain(0);
    } finally {
      network.restore();
      await consumer.stop();
      await cutProducer.disconnect();
    }
  }, 120_000);
  it('When a handler fails with an error kafkajs will not retry, then a new consumer takes over and the message is redelivered', async () => {
    const topic = newTopic('fatal');
    await ensureTopics(kafka, [{ topic, partitions: 1 }]);
    const attempts: number[] = [];
    const consumer = await startConsumer({
      kafka,
      groupId: `${topic}-group`,
      topics: [topic],
      deadLetterTopic: `${topic}.dlq`,
      schema: z.object({ seq: z.number() }),
      logger,
      sessionTimeoutMs: 6000,
      handle: (message) => {
        attempts.push(message.seq);
        // kafkajs neither retries nor restarts on an error that says it is not retriable
        // (its own protocol errors do); on its own the consumer would stay stopped.
        if (attempts.length === 1)
          return Promise.reject(Object.assign(new Error('fatal once'), { retriable: false }));
        return Promise.resolve();
      },
    });
    try {
      await publish(producer, topic, [{ key: 'k', value: { seq: 1 } }]);
      await waitFor('the message to be handled again', () => attempts.length >= 2, {
        timeoutMs: 45_000,
      });
      expect(attempts.slice(0, 2)).toEqual([1, 1]);
    } finally {
      await consumer.stop();
    }
  }, 60_000);
  it('When the consumer cannot start, then startConsumer fails without leaving its dead-letter producer connected', async () => {
    const topic = newTopic('nostart');
    const producers: { made: Producer; disconnected: boolean }[] = [];
    // The real client, except that every consumer it makes fails to connect, as one would with
    // the broker gone between creating the dead-letter producer and joining the group.
    const failing = new Proxy(kafka, {
      get: (target, property) => {
        if (property === 'producer')
          return (...args: Parameters<Kafka['producer']>) => {
            const made = target.producer(...args);
            const entry = { made, disconnected: false };
            made.on(made.events.DISCONNECT, () => {
              entry.disconnected = true;
            });
            producers.push(entry);
            return made;
          };
        if (property === 'consumer')
          return (...args: Parameters<Kafka['consumer']>) => {
            const made = target.consumer(...args);
            made.connect = () => Promise.reject(new Error('injected: the consumer cannot connect'));
            return made;
          };
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    try {
      const started = startConsumer({
        kafka: failing,
        groupId: `${topic}-group`,
        topics: [topic],
        deadLetterTopic: `${topic}.dlq`,
        schema: z.object({ seq: z.number() }),
        logger,
        handle: () => Promise.resolve(),
      });
      await expect(started).rejects.toThrow('injected: the consumer cannot connect');
      expect(producers).toHaveLength(1);
      expect(producers[0]?.disconnected, 'the dead-letter producer disconnected').toBe(true);
    } finally {
      for (const { made } of producers) await made.disconnect();
    }
  });
});
