/** The trips module's table, unqualified: the search path names the `trips` schema. */
import type { PoolClient } from '@lab/shared/pg';

export interface TripRow {
  id: string;
  request_hash: string;
  request: unknown;
  status: string;
  failure_reason: string | null;
  created_at: Date;
  finished_at: Date | null;
  trace_id: string | null;
}

function exactlyOne(rows: TripRow[]): TripRow {
  const [row] = rows;
  if (!row || rows.length > 1) throw new Error(`expected one trip row, found ${rows.length}`);
  return row;
}

/**
 * Inserts the trip unless its Idempotency-Key is known. A duplicate sent while the first is
 * still booking waits on the key's unique index until that transaction ends, then finds its
 * row: one key, one trip, with no table of keys beside it.
 */
export async function createTrip(
  tx: PoolClient,
  trip: {
    id: string;
    idempotencyKey: string | undefined;
    requestHash: string;
    request: unknown;
    traceId: string | null;
  },
): Promise<{ created: boolean; row: TripRow }> {
  const inserted = await tx.query<TripRow>(
    `INSERT INTO trips (id, idempotency_key, request_hash, request, status, trace_id)
     VALUES ($1, $2, $3, $4, 'PENDING', $5)
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
    [
      trip.id,
      trip.idempotencyKey ?? null,
      trip.requestHash,
      JSON.stringify(trip.request),
      trip.traceId,
    ],
  );
  if (inserted.rows[0]) return { created: true, row: inserted.rows[0] };
  // The conflict waited for the other transaction to commit, so its row is visible now.
  const { rows } = await tx.query<TripRow>('SELECT * FROM trips WHERE idempotency_key = $1', [
    trip.idempotencyKey,
  ]);
  return { created: false, row: exactlyOne(rows) };
}

export async function finishTrip(
  tx: PoolClient,
  id: string,
  outcome: { status: 'COMPLETED' | 'COMPENSATED'; reason: string | null },
): Promise<TripRow> {
  const { rows } = await tx.query<TripRow>(
    `UPDATE trips SET status = $2, failure_reason = $3, finished_at = now()
      WHERE id = $1 RETURNING *`,
    [id, outcome.status, outcome.reason],
  );
  return exactlyOne(rows);
}

export async function loadTrip(tx: PoolClient, id: string): Promise<TripRow | undefined> {
  const { rows } = await tx.query<TripRow>('SELECT * FROM trips WHERE id = $1', [id]);
  return rows[0];
}

/**
 * The newest trips first, optionally only those in one status: the orchestrator's `GET /trips`
 * for the same console. One query: a trip here has no timeline of steps to fetch beside it.
 */
export async function listTrips(
  tx: PoolClient,
  options: { limit: number; status: string | undefined },
): Promise<TripRow[]> {
  const { rows } = await tx.query<TripRow>(
    `SELECT * FROM trips
      WHERE $2::text IS NULL OR status = $2
      ORDER BY created_at DESC, id
      LIMIT $1`,
    [options.limit, options.status ?? null],
  );
  return rows;
}
