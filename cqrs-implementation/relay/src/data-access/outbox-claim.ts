import type { PoolClient, PoolOptions } from '@lab/shared/pg';

export interface OutboxRow {
  position: number;
  aggregateType: string;
  aggregateId: string;
  aggregateVersion: number;
  type: string;
  payload: unknown;
  traceContext: Record<string, string>;
  occurredAt: Date;
}

export interface Claim {
  /** Events to publish now, in the order they must reach Kafka. */
  events: OutboxRow[];
  /** Committed events held back because an older transaction may still commit before them. */
  heldBack: number;
  /** False when another relay holds the outbox: this one stands by. */
  leader: boolean;
}

/**
 * How a relay picks the next events, inside the transaction that will later mark them
 * published. A seam of the relay (src/seams.ts): the lab's exercises swap in their own.
 */
export type ClaimStrategy = (client: PoolClient, limit: number) => Promise<Claim>;

/**
 * How the relay's pool connects. The outbox keeps every published row, and marking a batch
 * finds its rows by position: with the generic plan a connection settles on while the outbox
 * holds a few rows, every batch would be marked by reading the whole outbox, a little longer
 * on each one (`planEachExecution` in @lab/shared/pg).
 */
export const RELAY_POOL: PoolOptions = { planEachExecution: true };

// Any constant works; it only has to be the same for every relay of this outbox.
const RELAY_LOCK = 3_101_103;

const SELECT_UNPUBLISHED = `
  SELECT position, aggregate_type AS "aggregateType", aggregate_id AS "aggregateId",
         aggregate_version AS "aggregateVersion", type, payload,
         trace_context AS "traceContext", occurred_at AS "occurredAt",
         txid < pg_snapshot_xmin(pg_current_snapshot()) AS settled
    FROM outbox
   WHERE published_at IS NULL
   ORDER BY position
   LIMIT $1`;

/**
 * The default strategy, and the heart of the relay's guarantees.
 *
 * Several relays: a transaction-scoped advisory lock makes one relay at a time the publisher.
 * The others get `false` at once and stand by; if the leader dies, PostgreSQL ends its
 * transaction and releases the lock, and the next relay takes over. Without it two relays
 * would read the same unpublished rows and publish every event twice, possibly interleaved.
 *
 * The gap problem: `position` comes from a sequence, taken when a transaction INSERTs, not when
 * it commits. Transaction A can take position 5, transaction B position 6, and B can commit
 * first. A relay that remembered "published up to 6" would skip 5 for ever when A commits.
 * So this relay keeps no watermark: every unpublished row stays eligible (published_at IS
 * NULL) until it is published, however late its transaction commits; a rollback simply
 * leaves nothing behind.
 *
 * Ordering: an event is "settled" when its transaction id is older than the oldest still
 * running transaction (the snapshot's xmin): no transaction that could still commit is older
 * than it. Events of one aggregate are inserted in commit order (each command locks the
 * aggregate's row before writing its event), so publishing in position order is per-aggregate
 * commit order, as long as we never jump over an unsettled row: we publish the settled
 * prefix and stop at the first row whose transaction is younger than a running one.
 */
export const claimSettledPrefix: ClaimStrategy = async (client, limit) => {
  const { rows: lock } = await client.query<{ leader: boolean }>(
    'SELECT pg_try_advisory_xact_lock($1) AS leader',
    [RELAY_LOCK],
  );
  if (!lock[0]?.leader) return { events: [], heldBack: 0, leader: false };
  // Named, so the relay's connections parse the outbox scan once, not on every poll.
  const { rows } = await client.query<OutboxRow & { settled: boolean }>({
    name: 'relay-unpublished',
    text: SELECT_UNPUBLISHED,
    values: [limit],
  });
  const firstUnsettled = rows.findIndex((row) => !row.settled);
  const events = firstUnsettled === -1 ? rows : rows.slice(0, firstUnsettled);
  return { events, heldBack: rows.length - events.length, leader: true };
};

export async function markPublished(client: PoolClient, positions: number[]): Promise<void> {
  // Named, so the relay's connections parse it once; planned per batch (`RELAY_POOL`).
  await client.query({
    name: 'relay-mark-published',
    text: 'UPDATE outbox SET published_at = now() WHERE position = ANY($1::bigint[])',
    values: [positions],
  });
}

export async function outboxBacklog(client: { query: PoolClient['query'] }): Promise<number> {
  const { rows } = await client.query<{ backlog: number }>(
    'SELECT count(*)::int AS backlog FROM outbox WHERE published_at IS NULL',
  );
  return rows[0]?.backlog ?? 0;
}
