/**
 * The module boundary, enforced by PostgreSQL. Every module owns one schema and has one role
 * with privileges on that schema only (data-access/migrations). Before a module's repository
 * runs, the transaction switches to the module's role and search path; the module's SQL names
 * its tables unqualified, and a query that reaches into another module's schema is refused
 * with "permission denied" instead of quietly coupling two modules through their tables.
 *
 * The switch is `SET LOCAL`: it belongs to the transaction (or savepoint) that made it, so a
 * rollback or the commit restores the service's own role and no pooled connection keeps it.
 */
import { withTransaction, type Pool, type PoolClient } from '@lab/shared/pg';

export const modules = ['flights', 'hotels', 'cars', 'payments', 'trips'] as const;
export type ModuleName = (typeof modules)[number];

/**
 * Runs `work` on `tx` as `module`: its role (named after the database, `<database>_<module>`,
 * as the migration made it), its schema. Back to the service's role after. set_config(..., true)
 * is SET LOCAL with the names passed as values, so no identifier is spliced into the SQL.
 */
export async function asModule<T>(
  tx: PoolClient,
  module: ModuleName,
  work: (tx: PoolClient) => Promise<T>,
): Promise<T> {
  await tx.query({
    name: 'monolith-as-module',
    text: "SELECT set_config('role', current_database() || '_' || $1, true), set_config('search_path', $1, true)",
    values: [module],
  });
  const result = await work(tx);
  await tx.query('RESET ROLE; RESET search_path');
  return result;
}

/** A module's own transaction, for its admin routes: the same boundary as inside a trip. */
export function inModuleTransaction<T>(
  pool: Pool,
  module: ModuleName,
  work: (tx: PoolClient) => Promise<T>,
): Promise<T> {
  return withTransaction(pool, (tx) => asModule(tx, module, work));
}
