import type { PoolClient } from '@lab/shared/pg';

/**
 * Runs `work` inside a savepoint of `tx`: if it throws, everything it wrote is rolled back and
 * the transaction goes on as it was before, so the caller can still record why in the same
 * commit. Nested transactions, inside one database: the local replacement for compensations.
 */
export async function allOrNothing<T>(tx: PoolClient, work: () => Promise<T>): Promise<T> {
  await tx.query('SAVEPOINT all_or_nothing');
  try {
    const result = await work();
    await tx.query('RELEASE SAVEPOINT all_or_nothing');
    return result;
  } catch (error) {
    await tx.query('ROLLBACK TO SAVEPOINT all_or_nothing');
    throw error;
  }
}
