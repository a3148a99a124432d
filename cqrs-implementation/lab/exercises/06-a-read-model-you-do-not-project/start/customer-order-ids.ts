import type { Pool } from '@lab/shared/pg';

/**
 * One page of a customer's orders in the modular monolith: the ids of at most `limit` orders,
 * newest first (ties broken by id, descending), that come after the order `afterOrderId` ('' for
 * the first page); undefined when `afterOrderId` is not one of this customer's orders. The seam
 * `customerOrderIds` of cqrs-implementation/monolith/src/seams.ts.
 *
 * As it stands it always answers the first page: the cursor is ignored.
 */
export async function customerOrderIds(
  pool: Pool,
  customerId: string,
  _afterOrderId: string,
  limit: number,
): Promise<string[] | undefined> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM orders WHERE customer_id = $1 ORDER BY placed_at DESC, id DESC LIMIT $2`,
    [customerId, limit],
  );
  return rows.map((row) => row.id);
}
