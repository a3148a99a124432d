import type { PoolClient } from '@lab/shared/pg';

export interface OutboxStatus {
  backlog: number;
  /** How long the oldest unpublished event has waited; null when nothing waits. */
  oldestUnpublishedAgeMs: number | null;
}

/**
 * What the relay still owes Kafka. Both figures come from the partial index on unpublished
 * rows, so asking stays cheap however many published rows the outbox keeps.
 */
export async function outboxStatus(client: { query: PoolClient['query'] }): Promise<OutboxStatus> {
  const { rows } = await client.query<{ backlog: number; age_ms: number | null }>(
    `SELECT (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS backlog,
            (SELECT (extract(epoch FROM clock_timestamp() - occurred_at) * 1000)::float8
               FROM outbox WHERE published_at IS NULL ORDER BY position LIMIT 1) AS age_ms`,
  );
  const row = rows[0];
  return {
    backlog: row?.backlog ?? 0,
    oldestUnpublishedAgeMs: row?.age_ms == null ? null : Math.round(row.age_ms),
  };
}
