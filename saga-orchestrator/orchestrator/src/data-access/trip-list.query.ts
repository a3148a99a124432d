import type { Pool } from '@lab/shared/pg';
import type { SagaRow, SagaStatus, StepRow } from './saga-log.repository.ts';

export interface TripListOptions {
  limit: number;
  status?: SagaStatus | undefined;
}

export interface ListedTrip {
  saga: SagaRow;
  steps: StepRow[];
}

/**
 * The most recent sagas, newest first, each with its timeline: what an operator's console
 * shows. Two queries whatever the limit (the sagas, then all their steps at once), so a page
 * of 200 trips is not 201 round trips to the saga log.
 */
export async function listTrips(pool: Pool, options: TripListOptions): Promise<ListedTrip[]> {
  const sagas = await pool.query<SagaRow>(
    `SELECT * FROM sagas
      WHERE $2::text IS NULL OR status = $2
      ORDER BY created_at DESC, id
      LIMIT $1`,
    [options.limit, options.status ?? null],
  );
  if (sagas.rows.length === 0) return [];
  const steps = await pool.query<StepRow & { saga_id: string }>(
    'SELECT * FROM saga_steps WHERE saga_id = ANY($1::uuid[]) ORDER BY seq',
    [sagas.rows.map((saga) => saga.id)],
  );
  const bySaga = new Map<string, StepRow[]>();
  for (const step of steps.rows) {
    const list = bySaga.get(step.saga_id) ?? [];
    list.push(step);
    bySaga.set(step.saga_id, list);
  }
  return sagas.rows.map((saga) => ({ saga, steps: bySaga.get(saga.id) ?? [] }));
}
