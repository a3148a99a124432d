import type { ReadModelRepository } from '@lab/cqrs-query-service/module';
import type { Pool } from '@lab/shared/pg';

/**
 * The query module's questions answered by SQL joins over the write model. There is no read
 * model to project, lag, lose or rebuild: each answer is built from the rows the last committed
 * command left, in the JSON shape the split wiring's projector stores, so both wirings answer
 * the same documents.
 */
const PRODUCT_DOC = `json_build_object('id', p.id, 'sku', p.sku, 'name', p.name,
  'priceCents', p.price_cents, 'stock', p.stock, 'unitsSold', p.units_sold, 'version', p.version)`;
const ORDER_DOC = `json_build_object('id', o.id, 'customerId', o.customer_id, 'status', o.status,
  'placedAt', to_char(o.placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'lines', (SELECT json_agg(json_build_object('productId', l.product_id, 'productName', p.name,
                    'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents,
                    'lineTotalCents', l.quantity * l.unit_price_cents) ORDER BY l.line_no)
              FROM order_lines l JOIN products p ON p.id = l.product_id
             WHERE l.order_id = o.id),
  'totalCents', o.total_cents, 'version', o.version)`;

/**
 * One page of a customer's orders, newest first (ties broken by id: the order the split
 * wiring's sorted set gives), after the order `afterOrderId` ('' for the first page); undefined
 * when that order is not one of the customer's. Keyset pagination over the index the write
 * model already has (orders_by_customer): what the split wiring keeps a sorted set per customer
 * in Redis for, projected from the event log. A seam (see seams.ts): exercise 06 writes it.
 */
export type CustomerOrderIds = (
  pool: Pool,
  customerId: string,
  afterOrderId: string,
  limit: number,
) => Promise<string[] | undefined>;

export const customerOrderIds: CustomerOrderIds = async (pool, customerId, after, limit) => {
  if (after !== '') {
    const known = await pool.query('SELECT 1 FROM orders WHERE id = $1 AND customer_id = $2', [
      after,
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
    [customerId, after, limit],
  );
  return rows.map((row) => row.id);
};

export function writeModelReads(
  pool: Pool,
  seams: { customerOrderIds: CustomerOrderIds } = { customerOrderIds },
): ReadModelRepository {
  // PostgreSQL prints JSON with spaces after colons; the split wiring answers JSON.stringify's
  // compact text, so each document is reprinted the same way (keys keep their order).
  const docs = async (sql: string, params: unknown[]) =>
    (await pool.query<{ id: string; doc: string }>(sql, params)).rows.map((row) => ({
      id: row.id,
      doc: JSON.stringify(JSON.parse(row.doc)),
    }));

  return {
    async view(kind, id) {
      const [row] = await docs(
        kind === 'product'
          ? `SELECT p.id, ${PRODUCT_DOC}::text AS doc FROM products p WHERE p.id = $1`
          : `SELECT o.id, ${ORDER_DOC}::text AS doc FROM orders o WHERE o.id = $1`,
        [id],
      );
      return row?.doc;
    },

    async versions(aggregates) {
      const { rows } = await pool.query<{ version: number }>(
        `SELECT coalesce(p.version, o.version, 0) AS version
           FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(entry, n)
           LEFT JOIN products p ON a.entry->>0 = 'product' AND p.id = (a.entry->>1)::uuid
           LEFT JOIN orders o ON a.entry->>0 = 'order' AND o.id = (a.entry->>1)::uuid
          ORDER BY a.n`,
        [JSON.stringify(aggregates)],
      );
      return rows.map((row) => row.version);
    },

    async customerOrders(customerId, afterOrderId, limit) {
      const ids = await seams.customerOrderIds(pool, customerId, afterOrderId, limit + 1);
      if (ids === undefined) return undefined;
      return docs(
        `SELECT o.id, ${ORDER_DOC}::text AS doc
           FROM unnest($1::uuid[]) WITH ORDINALITY AS page(id, n) JOIN orders o ON o.id = page.id
          ORDER BY page.n`,
        [ids],
      );
    },

    // No stored first pages here: every page is a query over the write model.
    customerFirstPage() {
      return Promise.resolve(undefined);
    },
    topProductsPage() {
      return Promise.resolve(undefined);
    },

    async topProducts(limit) {
      const rows = await docs(
        `SELECT p.id, ${PRODUCT_DOC}::text AS doc FROM products p
          ORDER BY p.units_sold DESC, p.id DESC LIMIT $1`,
        [limit],
      );
      return rows.map((row) => row.doc);
    },
  };
}
