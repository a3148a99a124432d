import type { PoolClient } from '@lab/shared/pg';
import type { OrderLineState } from '../domain/events.ts';

export interface OrderRow {
  orderId: string;
  customerId: string;
  status: 'placed' | 'cancelled';
  totalCents: number;
  version: number;
  placedAt: string;
}

const COLUMNS = `id AS "orderId", customer_id AS "customerId", status, total_cents AS "totalCents",
  version, to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "placedAt"`;

export async function insertOrder(
  client: PoolClient,
  customerId: string,
  lines: readonly OrderLineState[],
): Promise<OrderRow> {
  const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
  const { rows } = await client.query<OrderRow>(
    `INSERT INTO orders (customer_id, status, total_cents) VALUES ($1, 'placed', $2)
     RETURNING ${COLUMNS}`,
    [customerId, total],
  );
  const order = rows[0];
  if (!order) throw new Error('INSERT ... RETURNING returned no row');
  await client.query(
    `INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
     SELECT $1, l.line_no, l.product_id, l.quantity, l.unit_price_cents
       FROM jsonb_to_recordset($2::jsonb)
         AS l(line_no int, product_id uuid, quantity int, unit_price_cents bigint)`,
    [
      order.orderId,
      JSON.stringify(
        lines.map((l, i) => ({
          line_no: i + 1,
          product_id: l.productId,
          quantity: l.quantity,
          unit_price_cents: l.unitPriceCents,
        })),
      ),
    ],
  );
  return order;
}

/** Optimistic concurrency: the update only happens if nobody changed the order since the client read it. */
export async function cancelIfVersion(
  client: PoolClient,
  orderId: string,
  expectedVersion: number,
): Promise<OrderRow | undefined> {
  const { rows } = await client.query<OrderRow>(
    `UPDATE orders SET status = 'cancelled', version = version + 1
      WHERE id = $1 AND version = $2 AND status = 'placed'
      RETURNING ${COLUMNS}`,
    [orderId, expectedVersion],
  );
  return rows[0];
}

export async function findOrder(
  client: PoolClient,
  orderId: string,
): Promise<OrderRow | undefined> {
  const { rows } = await client.query<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE id = $1`, [
    orderId,
  ]);
  return rows[0];
}

export async function linesOf(client: PoolClient, orderId: string): Promise<OrderLineState[]> {
  const { rows } = await client.query<OrderLineState>(
    `SELECT l.product_id AS "productId", p.name AS "productName", l.quantity,
            l.unit_price_cents AS "unitPriceCents"
       FROM order_lines l JOIN products p ON p.id = l.product_id
      WHERE l.order_id = $1 ORDER BY l.line_no`,
    [orderId],
  );
  return rows;
}
