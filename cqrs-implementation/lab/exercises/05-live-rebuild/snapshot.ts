import type { PoolClient } from '@lab/shared/pg';

/** The write model read as view inputs (shared by the start and the solution of exercise 05). */
export async function snapshotProducts(client: PoolClient) {
  const { rows } = await client.query<{
    productId: string;
    sku: string;
    name: string;
    priceCents: number;
    stock: number;
    unitsSold: number;
    version: number;
  }>(
    `SELECT id AS "productId", sku, name, price_cents AS "priceCents", stock,
            units_sold AS "unitsSold", version FROM products`,
  );
  return rows.map(({ version, ...state }) => ({ version, state }));
}

export async function snapshotOrders(client: PoolClient) {
  const { rows } = await client.query<{
    orderId: string;
    customerId: string;
    status: 'placed' | 'cancelled';
    totalCents: number;
    placedAt: string;
    version: number;
    lines: { productId: string; productName: string; quantity: number; unitPriceCents: number }[];
  }>(
    `SELECT o.id AS "orderId", o.customer_id AS "customerId", o.status, o.total_cents AS "totalCents",
            to_char(o.placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "placedAt", o.version,
            json_agg(json_build_object('productId', l.product_id, 'productName', p.name,
              'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.line_no) AS lines
       FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN products p ON p.id = l.product_id
      GROUP BY o.id`,
  );
  return rows.map(({ version, ...state }) => ({ version, state }));
}
