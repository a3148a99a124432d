import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '@lab/shared/pg';
import type { Redis } from '@lab/shared/redis';

export interface Violation {
  where: 'write-model' | 'outbox' | 'read-model';
  aggregate: string;
  problem: string;
}

/**
 * Invariants of the write model itself: stock never negative, units sold equal to the lines of
 * placed orders, totals equal to their lines, and every aggregate version backed by exactly
 * one outbox event (a half-written command would break one of these). The monolith wiring
 * writes no outbox: `{ outbox: false }` audits its write model without that last check.
 */
export async function auditWriteModel(
  pool: Pool,
  { outbox: withOutbox = true }: { outbox?: boolean } = {},
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const { rows: products } = await pool.query<{
    id: string;
    stock: number;
    units_sold: number;
    sold: number;
  }>(`
    SELECT p.id, p.stock, p.units_sold,
           coalesce((SELECT sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id
                      WHERE l.product_id = p.id AND o.status = 'placed'), 0)::bigint AS sold
      FROM products p
     WHERE p.stock < 0 OR p.units_sold <> coalesce((SELECT sum(l.quantity) FROM order_lines l
           JOIN orders o ON o.id = l.order_id WHERE l.product_id = p.id AND o.status = 'placed'), 0)`);
  for (const p of products)
    violations.push({
      where: 'write-model',
      aggregate: `product:${p.id}`,
      problem: `stock ${p.stock}, units_sold ${p.units_sold} but placed order lines sum to ${p.sold}`,
    });
  const { rows: orders } = await pool.query<{ id: string; total_cents: number; lines: number }>(`
    SELECT o.id, o.total_cents, coalesce(sum(l.quantity * l.unit_price_cents), 0)::bigint AS lines
      FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id
     GROUP BY o.id HAVING o.total_cents <> coalesce(sum(l.quantity * l.unit_price_cents), 0)
        OR count(l.*) = 0`);
  for (const o of orders)
    violations.push({
      where: 'write-model',
      aggregate: `order:${o.id}`,
      problem: `total ${o.total_cents} but lines sum to ${o.lines}`,
    });
  if (!withOutbox) return violations;
  const { rows: outbox } = await pool.query<{
    aggregate: string;
    version: number;
    events: number;
  }>(`
    SELECT a.kind || ':' || a.id AS aggregate, a.version, count(e.*)::int AS events
      FROM (SELECT 'product' AS kind, id, version FROM products
            UNION ALL SELECT 'order', id, version FROM orders) a
      LEFT JOIN outbox e ON e.aggregate_id = a.id AND e.aggregate_version BETWEEN 1 AND a.version
     GROUP BY a.kind, a.id, a.version
    HAVING count(e.*) <> a.version`);
  for (const o of outbox)
    violations.push({
      where: 'outbox',
      aggregate: o.aggregate,
      problem: `at version ${o.version} but ${o.events} outbox events`,
    });
  return violations;
}

interface ViewHash {
  version?: string;
  doc?: string;
}

/** Compares every aggregate in PostgreSQL with its view in the live Redis generation. */
export async function auditReadModel(
  pool: Pool,
  redis: Redis,
  prefix: string,
): Promise<Violation[]> {
  const base = `${prefix}cqrs:`;
  const generation = (await redis.get(`${base}generation`)) ?? 'g1';
  const gen = `${base}${generation}:`;
  const violations: Violation[] = [];
  const drift = (aggregate: string, problem: string) =>
    violations.push({ where: 'read-model', aggregate, problem });

  const { rows: products } = await pool.query<{
    id: string;
    price_cents: number;
    stock: number;
    units_sold: number;
    version: number;
  }>('SELECT id, price_cents, stock, units_sold, version FROM products ORDER BY id');
  for (let i = 0; i < products.length; i += 500) {
    const chunk = products.slice(i, i + 500);
    const pipeline = redis.pipeline();
    for (const p of chunk) {
      pipeline.hgetall(`${gen}product:${p.id}`);
      pipeline.zscore(`${gen}top-products`, p.id);
    }
    const results = (await pipeline.exec()) ?? [];
    chunk.forEach((p, j) => {
      const view = results[2 * j]?.[1] as ViewHash;
      const score = results[2 * j + 1]?.[1] as string | null;
      if (!view.doc) return drift(`product:${p.id}`, 'missing from the read model');
      const doc = JSON.parse(view.doc) as { priceCents: number; stock: number; unitsSold: number };
      const expected = `v${p.version} price ${p.price_cents} stock ${p.stock} sold ${p.units_sold}`;
      const actual = `v${view.version} price ${doc.priceCents} stock ${doc.stock} sold ${doc.unitsSold}`;
      if (expected !== actual)
        drift(`product:${p.id}`, `write model ${expected}, read model ${actual}`);
      if (Number(score) !== p.units_sold)
        drift(`product:${p.id}`, `top-products score ${score} but units sold ${p.units_sold}`);
    });
  }

  const { rows: orders } = await pool.query<{
    id: string;
    customer_id: string;
    status: string;
    total_cents: number;
    version: number;
    lines: number;
  }>(`SELECT o.id, o.customer_id, o.status, o.total_cents, o.version,
             (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id)::int AS lines
        FROM orders o ORDER BY o.id`);
  for (let i = 0; i < orders.length; i += 500) {
    const chunk = orders.slice(i, i + 500);
    const pipeline = redis.pipeline();
    for (const o of chunk) {
      pipeline.hgetall(`${gen}order:${o.id}`);
      pipeline.zscore(`${gen}customer:${o.customer_id}:orders`, o.id);
    }
    const results = (await pipeline.exec()) ?? [];
    chunk.forEach((o, j) => {
      const view = results[2 * j]?.[1] as ViewHash;
      const listed = results[2 * j + 1]?.[1] as string | null;
      if (!view.doc) return drift(`order:${o.id}`, 'missing from the read model');
      const doc = JSON.parse(view.doc) as { status: string; totalCents: number; lines: unknown[] };
      const expected = `v${o.version} ${o.status} total ${o.total_cents} lines ${o.lines}`;
      const actual = `v${view.version} ${doc.status} total ${doc.totalCents} lines ${doc.lines.length}`;
      if (expected !== actual)
        drift(`order:${o.id}`, `write model ${expected}, read model ${actual}`);
      if (listed === null) drift(`order:${o.id}`, `not listed under customer ${o.customer_id}`);
    });
  }

  // The pages the projector keeps whole (20 orders, 10 best-sellers) must read as the lists
  // they are cut from. A page not there is no drift: the query service then reads the list.
  const joinedDocs = async (kind: 'order' | 'product', ids: string[]) => {
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hget(`${gen}${kind}:${id}`, 'doc');
    return ((await pipeline.exec()) ?? [])
      .map(([, doc]) => doc as string | null)
      .filter(Boolean)
      .join(',');
  };
  for (const customer of new Set(orders.map((o) => o.customer_id))) {
    const ids = await redis.zrevrange(`${gen}customer:${customer}:orders`, 0, 20);
    if (ids.length === 0) continue;
    const stored = await redis.hgetall(`${gen}customer:${customer}:first-page`);
    if (stored.items === undefined) continue;
    const next = ids.length > 20 ? (ids[19] ?? '') : '';
    if (stored.items !== (await joinedDocs('order', ids.slice(0, 20))) || stored.next !== next)
      drift(`customer:${customer}`, 'stored first page differs from the orders list');
  }
  const top = await redis.zrevrange(`${gen}top-products`, 0, 9);
  const topPage = await redis.get(`${gen}top-products:first-page`);
  if (topPage !== null && topPage !== (await joinedDocs('product', top)))
    drift('top-products', 'stored first page differs from the best-sellers list');
  return violations;
}

/**
 * The whole audit. The read side is eventually consistent, so read-model drift is re-checked
 * until `settleMs` has passed: drift that persists is real, drift that vanishes was lag.
 */
export async function verifyLab(
  pool: Pool,
  redis: Redis,
  prefix: string,
  settleMs = 10_000,
): Promise<Violation[]> {
  const writeModel = await auditWriteModel(pool);
  const deadline = Date.now() + settleMs;
  for (;;) {
    const readModel = await auditReadModel(pool, redis, prefix);
    if (readModel.length === 0 || Date.now() >= deadline) return [...writeModel, ...readModel];
    await sleep(250);
  }
}
