import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  createPool,
  databaseUrlFor,
  dropDatabase,
  migrate,
  type Pool,
  type PoolOptions,
} from '@lab/shared/pg';
import { seqScansOf, uniqueName, waitFor } from '@lab/shared/testkit';
import { claimSettledPrefix, markPublished, RELAY_POOL } from '../src/data-access/outbox-claim.ts';

const adminUrl = process.env.DATABASE_URL!;
const migrations = join(import.meta.dirname, '../../command-service/src/data-access/migrations');
const databases: string[] = [];
afterAll(async () => {
  for (const name of databases) await dropDatabase(adminUrl, name);
});

/** One committed event, as a command writes it beside its domain rows. */
const commitEvent = (pool: Pool) =>
  pool.query(
    `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload)
     VALUES ('product', gen_random_uuid(), 1, 'ProductRestocked', '{}')`,
  );

/**
 * A relay pass that publishes the `count` unpublished events together: claim them and mark them
 * published in one transaction. A transaction open anywhere on the server (another test's) holds
 * newer events back as unsettled until it ends, as it would the relay: until then the pass finds
 * fewer, lets them be and looks again, so every mark is of a batch of `count`.
 */
async function publish(pool: Pool, count: number) {
  await waitFor(`${count} settled events`, async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { events } = await claimSettledPrefix(client, 100);
      if (events.length !== count) {
        await client.query('ROLLBACK');
        return false;
      }
      await markPublished(
        client,
        events.map((event) => event.position),
      );
      await client.query('COMMIT');
      return true;
    } finally {
      client.release();
    }
  });
}

/**
 * Seq scans of `outbox` by one relay pass, after a connection of a pool made with `options`
 * published seven batches of four events and the outbox then grew to 20,000 published rows.
 */
async function scansAfterGrowth(options: PoolOptions) {
  const name = uniqueName('outbox_plans');
  databases.push(name);
  await migrate({ adminUrl, database: name, dir: migrations });
  const pool = createPool(databaseUrlFor(adminUrl, name), { ...options, max: 1 });
  try {
    // As on a server without autovacuum: no ANALYZE comes to make the connection plan again.
    await pool.query('ALTER TABLE outbox SET (autovacuum_enabled = false)');
    for (let i = 0; i < 7; i++) {
      for (let e = 0; e < 4; e++) await commitEvent(pool);
      await publish(pool, 4);
    }
    await pool.query(
      `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload,
                           published_at)
       SELECT 'product', gen_random_uuid(), 1, 'ProductRestocked', '{}', now()
         FROM generate_series(1, 20000)`,
    );
    await commitEvent(pool);
    const before = await seqScansOf(pool, 'outbox');
    await publish(pool, 1);
    return (await seqScansOf(pool, 'outbox')) - before;
  } finally {
    await pool.end();
  }
}

describe('the relay as the outbox grows', () => {
  test('When the outbox has grown by thousands of published rows since the relay started, then a pass finds and marks its events through indexes, reading none of the published rows', async () => {
    // What the relay's pool prevents: a plan kept from the near-empty outbox reads all of it.
    expect(await scansAfterGrowth({})).toBeGreaterThan(0);
    expect(await scansAfterGrowth(RELAY_POOL)).toBe(0);
  });
});
