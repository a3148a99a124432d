import type { ClaimStrategy, OutboxRow } from '@lab/cqrs-relay/seams';

/**
 * Exercise 01: this claim works with one relay. Run two (for availability) and every event
 * reaches Kafka twice. Make sure only one relay publishes at a time, without a leader
 * election service: PostgreSQL already has what you need.
 */
export const claim: ClaimStrategy = async (client, limit) => {
  const { rows } = await client.query<OutboxRow & { settled: boolean }>(
    `SELECT position, aggregate_type AS "aggregateType", aggregate_id AS "aggregateId",
            aggregate_version AS "aggregateVersion", type, payload,
            trace_context AS "traceContext", occurred_at AS "occurredAt",
            txid < pg_snapshot_xmin(pg_current_snapshot()) AS settled
       FROM outbox WHERE published_at IS NULL ORDER BY position LIMIT $1`,
    [limit],
  );
  const firstUnsettled = rows.findIndex((row) => !row.settled);
  const events = firstUnsettled === -1 ? rows : rows.slice(0, firstUnsettled);
  return { events, heldBack: rows.length - events.length, leader: true };
};
