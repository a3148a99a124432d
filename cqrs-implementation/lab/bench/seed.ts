import type { Pool } from '@lab/shared/pg';

/**
 * Writes `orders` orders straight into the write model, with their OrderPlaced events in the
 * outbox, in one transaction: the backlog the catch-up benchmark feeds through relay and
 * projector, and the 100k-order history the PostgreSQL baseline has to join over.
 */
export async function seedOrders(pool: Pool, orders: number, customers: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `CREATE TEMP TABLE seed_products ON COMMIT DROP AS
         SELECT id, name, price_cents, (row_number() OVER (ORDER BY id)) - 1 AS n FROM products`,
    );
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM seed_products',
    );
    const products = rows[0]?.n ?? 1;
    await client.query(
      `CREATE TEMP TABLE seed ON COMMIT DROP AS
         SELECT i, gen_random_uuid() AS order_id, 'bench-' || (i % $2) AS customer_id,
                i % $3 AS pn, 1 + (i % 3) AS qty,
                clock_timestamp() - make_interval(secs => ($1 - i)::double precision) AS placed_at
           FROM generate_series(1, $1) i`,
      [orders, customers, products],
    );
    await client.query(
      `INSERT INTO orders (id, customer_id, status, total_cents, version, placed_at)
       SELECT s.order_id, s.customer_id, 'placed', s.qty * p.price_cents, 1, s.placed_at
         FROM seed s JOIN seed_products p ON p.n = s.pn`,
    );
    await client.query(
      `INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
       SELECT s.order_id, 1, p.id, s.qty, p.price_cents FROM seed s JOIN seed_products p ON p.n = s.pn`,
    );
    await client.query(
      `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload)
       SELECT 'order', s.order_id, 1, 'OrderPlaced', jsonb_build_object('state', jsonb_build_object(
                'orderId', s.order_id, 'customerId', s.customer_id, 'status', 'placed',
                'totalCents', s.qty * p.price_cents,
                'placedAt', to_char(s.placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'lines', jsonb_build_array(jsonb_build_object('productId', p.id, 'productName', p.name,
                  'quantity', s.qty, 'unitPriceCents', p.price_cents))))
         FROM seed s JOIN seed_products p ON p.n = s.pn ORDER BY s.i`,
    );
    await client.query('COMMIT');
    await client.query('ANALYZE orders; ANALYZE order_lines');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
