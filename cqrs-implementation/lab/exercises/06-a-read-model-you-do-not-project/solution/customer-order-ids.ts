import type { Pool } from '@lab/shared/pg';

/**
 * Keyset pagination: the page starts strictly after the cursor's (placed_at, id), so it stays
 * stable while new orders arrive at the head, and the orders_by_customer index serves it. No
 * projector, no sorted set, no rebuild: the write model answers the question itself.
 */
export async function customerOrderIds(
  pool: Pool,
  customerId: string,
  afterOrderId: string,
  limit: number,
): Promise<string[] | undefined> {
  if (afterOrderId !== '') {
    const known = await pool.query('SELECT 1 FROM orders WHERE id = $1 AND customer_id = $2', [
      afterOrderId,
      customerId,
    ]);
    if (known.rowCount === 0) return undefined;
  }
  const { rows } = await pool.query<{ id: string }>(
    `SELECT o.id FROM orders o
      WHERE o.customer_id = $1
        AND ($2 = '' OR (o.placed_at, o.id) <
             (SELECT c.placed_at, c.id FROM orders c WHERE c.id = NULLIF($2, '')::uuid))
      ORDER BY o.placed_at DESC, o.id DESC
      LIMIT $3`,
    [customerId, afterOrderId, limit],
  );
  return rows.map((row) => row.id);
}
