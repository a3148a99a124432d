import type { ClaimStrategy, OutboxRow } from '@lab/cqrs-relay/seams';

const RELAY_LOCK = 42_001;

/**
 * A transaction-scoped advisory lock: the relay that gets it publishes this batch; the others
 * get `false` immediately and stand by. It is released at COMMIT/ROLLBACK, or when a crashed
 * relay's connection drops, so there is no stale leadership to expire.
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
