import type { ClaimStrategy, OutboxRow } from '@lab/cqrs-relay/seams';

const RELAY_LOCK = 42_002;

/**
 * No watermark: a row stays eligible until it is marked published, however late its
 * transaction commits. And no jumping ahead: a row is "settled" once its transaction id is
 * older than every running transaction (the snapshot's xmin); publishing stops at the first
 * unsettled row, so an older transaction that commits an aggregate's next event can never get
 * it onto the topic before the previous one.
 */
export const claim: ClaimStrategy = async (client, limit) => {
  const { rows: lock } = await client.query<{ leader: boolean }>(
    'SELECT pg_try_advisory_xact_lock($1) AS leader',
    [RELAY_LOCK],
  );
  if (!lock[0]?.leader) return { events: [], heldBack: 0, leader: false };
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
