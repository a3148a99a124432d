import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '@lab/shared/pg';
import type { Redis } from '@lab/shared/redis';
import {
  DEFAULT_GENERATION,
  createReadModelRepository,
  readModelBase,
} from '../../../projector/src/data-access/read-model.repository.ts';
import { orderView } from '../../../projector/src/domain/order-view.projection.ts';
import { productView } from '../../../projector/src/domain/product-view.projection.ts';
import { defaultNamespace } from '../services.ts';
import { connect } from '../stores.ts';

export interface RebuildOptions {
  batchSize?: number;
  /** Pause between batches, to make the rebuild window visible in a demo or a test. */
  pauseMs?: number;
  /** Discard a rebuild that crashed half-way and start again. */
  force?: boolean;
  log?: (line: string) => void;
}

interface OrderSnapshot {
  id: string;
  customer_id: string;
  status: 'placed' | 'cancelled';
  total_cents: number;
  version: number;
  placed_at: string;
  lines: { productId: string; productName: string; quantity: number; unitPriceCents: number }[];
}

async function unlinkGeneration(redis: Redis, base: string, generation: string) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}${generation}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/**
 * Builds a new read-model generation from the write model while the live one keeps serving,
 * then switches readers over in one atomic step.
 *
 * 1. Mark the new generation as "building". From this instant the projector applies every
 *    event to it as well as to the live one (decided inside its Lua script, so no event can
 *    slip between the mark and the projector noticing it).
 * 2. Take a REPEATABLE READ snapshot of the write model and write it into the new generation
 *    with the same version check. Whatever committed before the snapshot is in it; whatever
 *    commits after reaches the new generation through the projector. Where both write the
 *    same aggregate, the higher version wins, whichever arrives first.
 * 3. Point `generation` at the new one and clear `building` in one MULTI, then drop the old keys.
 */
export async function rebuildReadModel(
  pool: Pool,
  redis: Redis,
  prefix: string,
  options: RebuildOptions = {},
) {
  const log = options.log ?? (() => undefined);
  const batchSize = options.batchSize ?? 1000;
  const base = readModelBase(prefix);
  const store = createReadModelRepository(redis, prefix);
  const live = (await redis.get(`${base}generation`)) ?? DEFAULT_GENERATION;
  const next = `g${Number(live.slice(1)) + 1}`;
  if (options.force) {
    const stale = await redis.get(`${base}building`);
    if (stale) await unlinkGeneration(redis, base, stale);
    await redis.del(`${base}building`);
  }
  if ((await redis.set(`${base}building`, next, 'NX')) === null)
    throw new Error(
      `a rebuild is already in progress (building ${String(await redis.get(`${base}building`))}); ` +
        'if it crashed, run rebuild --force',
    );
  log(`building generation ${next} while ${live} keeps serving`);

  const client = await pool.connect();
  let products = 0;
  let orders = 0;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows: productRows } = await client.query<{
      id: string;
      sku: string;
      name: string;
      price_cents: number;
      stock: number;
      units_sold: number;
      version: number;
    }>('SELECT id, sku, name, price_cents, stock, units_sold, version FROM products ORDER BY id');
    for (let i = 0; i < productRows.length; i += batchSize) {
      await Promise.all(
        productRows.slice(i, i + batchSize).map((p) =>
          store.apply(
            productView(
              {
                productId: p.id,
                sku: p.sku,
                name: p.name,
                priceCents: p.price_cents,
                stock: p.stock,
                unitsSold: p.units_sold,
              },
              p.version,
            ),
            next,
          ),
        ),
      );
      products += Math.min(batchSize, productRows.length - i);
    }
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const { rows } = await client.query<OrderSnapshot>(
        `SELECT o.id, o.customer_id, o.status, o.total_cents, o.version,
                to_char(o.placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS placed_at,
                json_agg(json_build_object('productId', l.product_id, 'productName', p.name,
                  'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.line_no) AS lines
           FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN products p ON p.id = l.product_id
          WHERE o.id > $1 GROUP BY o.id ORDER BY o.id LIMIT $2`,
        [after, batchSize],
      );
      if (rows.length === 0) break;
      await Promise.all(
        rows.map((o) =>
          store.apply(
            orderView(
              {
                orderId: o.id,
                customerId: o.customer_id,
                status: o.status,
                totalCents: o.total_cents,
                placedAt: o.placed_at,
                lines: o.lines,
              },
              o.version,
            ),
            next,
          ),
        ),
      );
      orders += rows.length;
      after = rows.at(-1)?.id ?? after;
      log(`  ${orders} orders copied`);
      if (options.pauseMs) await sleep(options.pauseMs);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    await redis.del(`${base}building`);
    await unlinkGeneration(redis, base, next);
    throw error;
  } finally {
    client.release();
  }

  await redis.multi().set(`${base}generation`, next).del(`${base}building`).exec();
  log(`switched readers to ${next}; dropping ${live}`);
  await unlinkGeneration(redis, base, live);
  return { from: live, to: next, products, orders };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** `pnpm lab cqrs rebuild [--force]` */
export async function rebuild(args: string[]): Promise<number> {
  const ns = defaultNamespace();
  const stores = connect(ns);
  try {
    const result = await rebuildReadModel(stores.pool, stores.redis, ns.redisKeyPrefix, {
      force: args.includes('--force'),
      log: say,
    });
    say(
      `rebuilt ${result.products} products and ${result.orders} orders: ${result.from} -> ${result.to}`,
    );
    return 0;
  } finally {
    await stores.close();
  }
}
