import type { ClaimStrategy, OutboxRow } from '@lab/cqrs-relay/seams';

const RELAY_LOCK = 42_002;
// The highest position this relay has published: everything after it is new.
let publishedUpTo = 0;

/**
 * Exercise 02: a relay that remembers how far it got. Fast and simple, and it loses events:
 * a sequence hands out positions when a transaction inserts, not when it commits.
 */
export const claim: ClaimStrategy = async (client, limit) => {
  const { rows: lock } = await client.query<{ leader: boolean }>(
    'SELECT pg_try_advisory_xact_lock($1) AS leader',
    [RELAY_LOCK],
  );
  if (!lock[0]?.leader) return { events: [], heldBack: 0, leader: false };
  const { rows } = await client.query<OutboxRow>(
    `SELECT position, aggregate_type AS "aggregateType", aggregate_id AS "aggregateId",
            aggregate_version AS "aggregateVersion", type, payload,
            trace_context AS "traceContext", occurred_at AS "occurredAt"
       FROM outbox WHERE position > $1 ORDER BY position LIMIT $2`,
    [publishedUpTo, limit],
  );
  publishedUpTo = rows.at(-1)?.position ?? publishedUpTo;
  return { events: rows, heldBack: 0, leader: true };
};
