import {
  createProducer,
  ensureTopics,
  publish,
  type Kafka,
  type Producer,
} from '@lab/shared/kafka';
import { withTransaction, type Pool } from '@lab/shared/pg';
import { markPublished, type ClaimStrategy, type OutboxRow } from '../data-access/outbox-claim.ts';
import { recordBatch, type BatchTiming } from '../infrastructure/relay-metrics.ts';

export interface RelayOptions {
  pool: Pool;
  kafka: Kafka;
  topic: string;
  claim: ClaimStrategy;
  batchSize: number;
}

/** Wall-clock milliseconds below the millisecond, comparable with the outbox's clock_timestamp(). */
const now = () => performance.timeOrigin + performance.now();

export type BatchOutcome = 'published' | 'idle' | 'held-back' | 'standby';

export function eventMessage(row: OutboxRow) {
  return {
    // Keyed by aggregate: one aggregate's events share a partition, so Kafka keeps their order.
    key: row.aggregateId,
    value: {
      eventId: row.position,
      aggregateType: row.aggregateType,
      aggregateId: row.aggregateId,
      aggregateVersion: row.aggregateVersion,
      type: row.type,
      payload: row.payload,
      occurredAt: row.occurredAt.toISOString(),
    },
    traceContext: row.traceContext,
  };
}

export function createRelay(options: RelayOptions) {
  const { pool, kafka, topic } = options;
  let producer: Producer | undefined;

  const connect = async (): Promise<Producer> => {
    if (producer) return producer;
    // Three partitions, so the projector can apply three at once; an aggregate's events share
    // one (keyed by its id), so their order holds.
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    producer = await createProducer(kafka);
    return producer;
  };

  /**
   * One batch in one transaction: claim, publish, mark published, commit. A crash after the
   * publish and before the commit publishes the batch again on restart: at-least-once, which
   * is why the projector ignores versions it has already applied. The claim's advisory lock is
   * transaction-scoped, so it is held exactly as long as this batch.
   */
  const relayBatch = async (): Promise<BatchOutcome> => {
    const kafkaProducer = await fromKafka(connect);
    // When each of the batch's round trips ended: the lag's split in the relay's metrics.
    const timing: BatchTiming = { began: now(), claimed: 0, acked: 0, marked: 0, committed: 0 };
    const claim = await withTransaction(pool, async (client) => {
      const claimed = await options.claim(client, options.batchSize);
      timing.claimed = now();
      if (claimed.events.length > 0) {
        await fromKafka(() => publish(kafkaProducer, topic, claimed.events.map(eventMessage)));
        timing.acked = now();
        await markPublished(
          client,
          claimed.events.map((e) => e.position),
        );
        timing.marked = now();
      }
      return claimed;
    });
    timing.committed = now();
    recordBatch(
      claim.events.map((e) => e.occurredAt),
      claim.heldBack,
      timing,
    );
    if (!claim.leader) return 'standby';
    if (claim.events.length >= options.batchSize) return 'published';
    return claim.heldBack > 0 ? 'held-back' : claim.events.length > 0 ? 'published' : 'idle';
  };

  const dropProducer = async () => {
    const old = producer;
    producer = undefined;
    await old?.disconnect().catch(() => undefined);
  };

  /**
   * A producer that failed to reach its broker is rebuilt rather than trusted; one whose batch
   * failed on PostgreSQL (the claim, the mark, the commit) is kept, so an outage of the
   * database does not also reconnect to Kafka every couple of seconds.
   */
  const fromKafka = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      await dropProducer();
      throw error;
    }
  };

  return { relayBatch, dropProducer };
}

export type Relay = ReturnType<typeof createRelay>;
