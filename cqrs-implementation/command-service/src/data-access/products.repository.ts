import type { PoolClient } from '@lab/shared/pg';
import type { ProductState } from '../domain/events.ts';

export interface ProductRow extends ProductState {
  version: number;
}

const COLUMNS = `id AS "productId", sku, name, price_cents AS "priceCents", stock,
  units_sold AS "unitsSold", version`;

export async function insertProduct(
  client: PoolClient,
  input: { sku: string; name: string; priceCents: number; stock: number },
): Promise<ProductRow | undefined> {
  const { rows } = await client.query<ProductRow>(
    `INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, $2, $3, $4)
     ON CONFLICT (sku) DO NOTHING RETURNING ${COLUMNS}`,
    [input.sku, input.name, input.priceCents, input.stock],
  );
  return rows[0];
}

export async function restock(
  client: PoolClient,
  productId: string,
  quantity: number,
): Promise<ProductRow | undefined> {
  const { rows } = await client.query<ProductRow>(
    `UPDATE products SET stock = stock + $2, version = version + 1 WHERE id = $1
     RETURNING ${COLUMNS}`,
    [productId, quantity],
  );
  return rows[0];
}

/**
 * Takes stock only if enough is left, in one statement: the row lock it takes makes 50
 * concurrent orders for the last 10 units queue here, and the WHERE re-checks stock after the
 * wait. A read-then-write in application code would let two orders see the same 1 unit.
 */
export async function takeStock(
  client: PoolClient,
  productId: string,
  quantity: number,
): Promise<ProductRow | undefined> {
  const { rows } = await client.query<ProductRow>(
    `UPDATE products
        SET stock = stock - $2, units_sold = units_sold + $2, version = version + 1
      WHERE id = $1 AND stock >= $2
      RETURNING ${COLUMNS}`,
    [productId, quantity],
  );
  return rows[0];
}

export async function returnStock(
  client: PoolClient,
  productId: string,
  quantity: number,
): Promise<ProductRow> {
  const { rows } = await client.query<ProductRow>(
    `UPDATE products
        SET stock = stock + $2, units_sold = units_sold - $2, version = version + 1
      WHERE id = $1
      RETURNING ${COLUMNS}`,
    [productId, quantity],
  );
  const row = rows[0];
  if (!row) throw new Error(`product ${productId} of an existing order line is missing`);
  return row;
}

export async function productExists(client: PoolClient, productId: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM products WHERE id = $1', [productId]);
  return (rowCount ?? 0) > 0;
}
