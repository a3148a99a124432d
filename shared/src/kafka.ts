import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import {
  Kafka,
  logLevel,
  type Consumer,
  type EachBatchHandler,
  type EachMessageHandler,
  type IHeaders,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { z } from 'zod';

export type { Kafka, Producer } from 'kafkajs';

const tracer = trace.getTracer('@lab/shared/kafka');

/** W3C trace context as stored in an outbox row or carried in Kafka headers. */
export type TraceCarrier = Record<string, string>;

export function createKafka(clientId: string, brokers: string[], logger?: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3000,
    retry: { initialRetryTime: 100, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }) => {
        const { message, ...extra } = log;
        // kafkajs logs every error answer from a broker at ERROR before the request's caller
        // decides what it means. Most are retried and then succeed (a topic just created whose
        // leader is still being elected answers "This server does not host this
        // topic-partition"); one that lasts reaches the caller, which logs it. So these are
        // detail, not an error a reader should chase.
        if (namespace === 'Connection' && message.startsWith('Response '))
          logger?.debug({ namespace, ...extra }, message);
        else if (level <= logLevel.ERROR) logger?.error({ namespace, ...extra }, message);
        else logger?.warn({ namespace, ...extra }, message);
      },
  });
}

/**
 * The broker refuses to auto-create topics (as production clusters usually do), so every
 * producer and consumer creates what it uses, with the partition count it relies on.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: (string | { topic: string; partitions?: number })[],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = topics
      .map((t) => (typeof t === 'string' ? { topic: t, partitions: 3 } : { partitions: 3, ...t }))
      .filter((t) => !existing.has(t.topic));
    if (wanted.length === 0) return;
    await admin.createTopics({
      topics: wanted.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: 1,
      })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

export function headersToCarrier(headers: IHeaders | undefined): TraceCarrier {
  const carrier: TraceCarrier = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) carrier[name] = first.toString();
  }
  return carrier;
}

/** The active trace context as a carrier, to store next to the data that will travel later. */
export function captureTraceContext(from: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(from, carrier);
  return carrier;
}

export interface OutgoingMessage {
  key: string;
  value: unknown;
  headers?: Record<string, string>;
  /** The trace this message belongs to; defaults to the active one. */
  traceContext?: TraceCarrier;
}

/**
 * An idempotent producer (the broker drops a batch it already appended when kafkajs retries
 * it) with one request in flight, so a retried batch can never overtake the next one and
 * reorder an aggregate's events within its partition.
 */
export async function createProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return producer;
}

/** Sends messages in order, each under a PRODUCER span continuing its own trace. */
export async function publish(
  producer: Producer,
  topic: string,
  messages: OutgoingMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  const spans = messages.map((message) => {
    const parent = message.traceContext
      ? propagation.extract(context.active(), message.traceContext)
      : context.active();
    const span = tracer.startSpan(
      `${topic} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': topic,
          'messaging.kafka.message.key': message.key,
        },
      },
      parent,
    );
    const headers: Record<string, string> = { ...message.headers };
    propagation.inject(trace.setSpan(parent, span), headers);
    return {
      span,
      kafkaMessage: { key: message.key, value: JSON.stringify(message.value), headers },
    };
  });
  try {
    await producer.send({ topic, acks: -1, messages: spans.map((s) => s.kafkaMessage) });
  } catch (error) {
    for (const { span } of spans)
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    throw error;
  } finally {
    for (const { span } of spans) span.end();
  }
}

/**
 * Thrown by a handler for a message that can never succeed (it breaks an invariant the
 * consumer relies on). Retrying it would block its partition for ever, so it goes to the
 * dead-letter topic instead. Any other error is treated as transient: the message is not
 * committed and will be redelivered.
 */
export class PoisonMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

export interface MessageMeta {
  topic: string;
  partition: number;
  offset: string;
  key: string | undefined;
  timestamp: number;
  headers: TraceCarrier;
}

/**
 * One valid message of a fetched batch (one partition's messages of a fetch), as a batch
 * handler receives it.
 */
export interface PreparedMessage<P> {
  value: P;
  meta: MessageMeta;
  /** Runs `fn` in this message's consumer span, so a write it makes is traced under the message. */
  inSpan: <T>(fn: () => T) => T;
}

/**
 * Handling a fetched batch at once instead of one message at a time. `prepare` checks and
 * converts each message in partition order (throw PoisonMessageError to dead-letter it);
 * `handle` then gets every prepared message of the batch together, so it can write them in one
 * round trip instead of one per message. The batch's offsets are committed only after `handle`
 * resolved; when it throws, the whole batch is delivered again, so its writes must be idempotent.
 */
export interface BatchHandling<M, P> {
  prepare: (message: M, meta: MessageMeta) => P;
  /**
   * `consuming()` turns false once the consumer is stopping or the batch went stale (its
   * partition was seeked or moved): a handler waiting for something may then give up by
   * throwing, and the batch, not committed, is delivered again to whoever consumes next.
   */
  handle: (batch: PreparedMessage<P>[], consuming: () => boolean) => Promise<void>;
}

interface CommonConsumerOptions<S extends z.ZodType> {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  schema: S;
  deadLetterTopic: string;
  logger: Logger;
  fromBeginning?: boolean;
  onDeadLetter?: (reason: string, meta: MessageMeta) => void;
  /**
   * How long the group waits for a silent member before moving its partitions (kafkajs
   * default 30 s). A crashed consumer's partitions stay unassigned that long, so fault tests
   * and labs that SIGKILL consumers want it shorter; heartbeats go at a third of it.
   */
  sessionTimeoutMs?: number;
  /** Partitions handled in parallel (default 1); order within a partition is kept either way. */
  partitionsConsumedConcurrently?: number;
  /**
   * Upper bounds of one fetch (kafkajs defaults: 10 MB per fetch, 1 MB per partition). During
   * a catch-up every fetch comes back full and is decoded at once, so a consumer running with a
   * small heap caps them to keep one fetch well inside it.
   */
  maxBytes?: number;
  maxBytesPerPartition?: number;
}

/** Either `handle` for one message at a time, or `batch` for a fetched batch at once. */
export type ConsumerOptions<S extends z.ZodType, P = unknown> = CommonConsumerOptions<S> &
  (
    | { handle: (message: z.infer<S>, meta: MessageMeta) => Promise<void>; batch?: never }
    | { batch: BatchHandling<z.infer<S>, P>; handle?: never }
  );

export interface RunningConsumer {
  stop: () => Promise<void>;
}

const metaOf = (topic: string, partition: number, message: KafkaMessage): MessageMeta => ({
  topic,
  partition,
  offset: message.offset,
  key: message.key?.toString(),
  timestamp: Number(message.timestamp),
  headers: headersToCarrier(message.headers),
});

const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 10_000;

export const DEAD_LETTER_HEADERS = {
  reason: 'dlq-reason',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  failedAt: 'dlq-failed-at',
} as const;

/**
 * Consumes with at-least-once delivery: an offset is committed only after `handle` resolved
 * (kafkajs resolves it when eachMessage returns; the batch path resolves it itself), so a
 * crash replays, never skips. Handlers must therefore be idempotent. Payloads are checked with
 * the zod schema; a poison message is dead-lettered with its reason and the partition moves on.
 */
export async function startConsumer<S extends z.ZodType, P = unknown>(
  options: ConsumerOptions<S, P>,
): Promise<RunningConsumer> {
  const { kafka, logger } = options;
  await ensureTopics(kafka, [...options.topics, options.deadLetterTopic]);
  const deadLetters = await createProducer(kafka);
  const newConsumer = () =>
    kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      ...(options.maxBytes !== undefined && { maxBytes: options.maxBytes }),
      ...(options.maxBytesPerPartition !== undefined && {
        maxBytesPerPartition: options.maxBytesPerPartition,
      }),
      ...(options.sessionTimeoutMs !== undefined && {
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: Math.max(100, Math.floor(options.sessionTimeoutMs / 3)),
      }),
    });
  const deadLetter = async (reason: string, meta: MessageMeta, raw: Buffer | null) => {
    logger.warn(
      { reason, topic: meta.topic, partition: meta.partition, offset: meta.offset },
      'dead-lettering message',
    );
    await deadLetters.send({
      topic: options.deadLetterTopic,
      acks: -1,
      messages: [
        {
          key: meta.key ?? null,
          value: raw,
          headers: {
            ...meta.headers,
            [DEAD_LETTER_HEADERS.reason]: reason,
            [DEAD_LETTER_HEADERS.topic]: meta.topic,
            [DEAD_LETTER_HEADERS.partition]: String(meta.partition),
            [DEAD_LETTER_HEADERS.offset]: meta.offset,
            [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
          },
        },
      ],
    });
    options.onDeadLetter?.(reason, meta);
  };

  /** The message's CONSUMER span, a child of the producer's context carried in its headers. */
  const startSpan = (message: KafkaMessage, meta: MessageMeta) => {
    const parent = propagation.extract(context.active(), meta.headers);
    const span = tracer.startSpan(
      `${meta.topic} process`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': meta.topic,
          'messaging.kafka.offset': message.offset,
          'messaging.consumer.group.name': options.groupId,
        },
      },
      parent,
    );
    return { span, spanContext: trace.setSpan(parent, span) };
  };

  /** The payload checked against the schema, or why it can never be handled. */
  const decode = (message: KafkaMessage): { data: z.infer<S> } | { reason: string } => {
    let payload: unknown;
    try {
      payload = JSON.parse(message.value?.toString() ?? '');
    } catch {
      return { reason: 'not JSON' };
    }
    const parsed = options.schema.safeParse(payload);
    if (parsed.success) return { data: parsed.data };
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return { reason: `schema: ${issues}` };
  };

  /** `fn`'s result, or the reason it gave by throwing PoisonMessageError. */
  const unlessPoison = async <T>(
    fn: () => T | Promise<T>,
  ): Promise<{ value: T } | { reason: string }> => {
    try {
      return { value: await fn() };
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      return { reason: error.message };
    }
  };

  const failed = (error: unknown, spans: Span[], where: Record<string, unknown>) => {
    for (const span of spans)
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
    logger.warn({ err: error, ...where }, 'message failed; it will be redelivered');
  };

  const eachMessage: EachMessageHandler = async ({ topic, partition, message }) => {
    const meta = metaOf(topic, partition, message);
    const { span, spanContext } = startSpan(message, meta);
    try {
      await context.with(spanContext, async () => {
        const decoded = decode(message);
        const outcome =
          'reason' in decoded
            ? decoded
            : await unlessPoison(() => options.handle?.(decoded.data, meta));
        if ('reason' in outcome) await deadLetter(outcome.reason, meta, message.value);
      });
    } catch (error) {
      failed(error, [span], { topic, partition, offset: meta.offset });
      throw error;
    } finally {
      span.end();
    }
  };

  /**
   * The batch path: every message decoded and prepared in partition order, the prepared ones
   * handled together, and only then the malformed and poison ones dead-lettered (a batch whose
   * handler failed is delivered again, and would park them twice). Offsets are resolved here,
   * not by kafkajs, so a consumer stopping half-way through a batch resolves only what it saw.
   */
  const eachBatch: EachBatchHandler = async (payload) => {
    const { batch } = payload;
    const handling = options.batch;
    if (!handling) return;
    const spans: Span[] = [];
    const prepared: PreparedMessage<P>[] = [];
    const rejected: (PreparedMessage<string> & { raw: Buffer | null })[] = [];
    let last: MessageMeta | undefined;
    try {
      for (const message of batch.messages) {
        if (!payload.isRunning() || payload.isStale()) break;
        const meta = metaOf(batch.topic, batch.partition, message);
        const { span, spanContext } = startSpan(message, meta);
        spans.push(span);
        last = meta;
        const inSpan = <T>(fn: () => T): T => context.with(spanContext, fn);
        const decoded = decode(message);
        const outcome =
          'reason' in decoded
            ? decoded
            : await unlessPoison(() => inSpan(() => handling.prepare(decoded.data, meta)));
        if ('reason' in outcome)
          rejected.push({ value: outcome.reason, meta, inSpan, raw: message.value });
        else prepared.push({ value: outcome.value, meta, inSpan });
      }
      if (prepared.length > 0)
        await handling.handle(prepared, () => payload.isRunning() && !payload.isStale());
      for (const { value, meta, inSpan, raw } of rejected)
        await inSpan(() => deadLetter(value, meta, raw));
    } catch (error) {
      const { topic, partition } = batch;
      const offsets = `${batch.firstOffset() ?? '?'}-${last?.offset ?? '?'}`;
      failed(error, spans, { topic, partition, offsets });
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
    if (last) payload.resolveOffset(last.offset);
    await payload.heartbeat();
  };

  // kafkajs restarts a consumer that crashed on a retriable error (the broker unreachable
  // until its retries ran out) by itself. A crash it deems non-retriable (an unexpected
  // answer from a broker that is coming back) would leave the projector idle for ever while
  // its lag grows: a fresh consumer joins the group again and resumes from the
  // committed offsets, trying again with backoff while the broker is still away.
  let consumer = newConsumer();
  let stopping = false;
  let rejoin: NodeJS.Timeout | undefined;
  const run = async (current: Consumer) => {
    current.on(current.events.CRASH, ({ payload }) => {
      if (payload.restart || stopping) return;
      logger.warn({ err: payload.error }, 'consumer stopped after a crash; starting a new one');
      scheduleRejoin(RESTART_FIRST_MS);
    });
    await current.connect();
    await current.subscribe({
      topics: options.topics,
      fromBeginning: options.fromBeginning ?? true,
    });
    await current.run({
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      ...(options.batch ? { eachBatch, eachBatchAutoResolve: false } : { eachMessage }),
    });
  };
  const scheduleRejoin = (delay: number) => {
    if (stopping || rejoin) return;
    rejoin = setTimeout(() => {
      rejoin = undefined;
      void (async () => {
        await consumer.disconnect().catch(() => undefined);
        consumer = newConsumer();
        try {
          await run(consumer);
        } catch (error) {
          logger.warn({ err: error }, 'consumer cannot rejoin yet; retrying');
          scheduleRejoin(Math.min(delay * 2, RESTART_MAX_MS));
        }
      })();
    }, delay);
  };
  try {
    await run(consumer);
  } catch (error) {
    // Nothing consumes: a caller that tries again (the projector's start loop does, for as long
    // as the broker is away) must not find this attempt's connections still open.
    stopping = true;
    await consumer.disconnect().catch(() => undefined);
    await deadLetters.disconnect().catch(() => undefined);
    throw error;
  }

  return {
    stop: async () => {
      stopping = true;
      clearTimeout(rejoin);
      await consumer.disconnect();
      await deadLetters.disconnect();
    },
  };
}
