import type { Pool } from '../pg.ts';

/**
 * How many times `table` was read whole (a sequential scan), by anyone, as PostgreSQL's
 * statistics count it once `pool`'s connection has reported its own. A backend reports its
 * counts at most once a second, so the pool must hold a single connection: the one that ran
 * the statements being counted, asked here to report them now.
 */
export async function seqScansOf(pool: Pool, table: string): Promise<number> {
  if (pool.options.max !== 1) throw new Error('seqScansOf needs a pool of one connection');
  // Sets a flag the backend acts on when this statement's transaction ends.
  await pool.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await pool.query<{ n: number }>(
    'SELECT seq_scan::int AS n FROM pg_stat_user_tables WHERE relname = $1',
    [table],
  );
  const row = rows[0];
  if (!row) throw new Error(`no table ${table} in this database`);
  return row.n;
}
