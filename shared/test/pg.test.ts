import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, databaseUrlFor, dropDatabase, migrate, withTransaction } from '../src/pg.ts';
import { uniqueName } from '../src/testkit/index.ts';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databases = [uniqueName('orders_svc'), uniqueName('billing_svc')];

const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
writeFileSync(
  join(dir, '001_create_items.sql'),
  '-- Up Migration\nCREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n-- Down Migration\nDROP TABLE items;\n',
);
writeFileSync(
  join(dir, '002_add_price.sql'),
  '-- Up Migration\nALTER TABLE items ADD COLUMN price_cents int NOT NULL DEFAULT 0;\n-- Down Migration\nALTER TABLE items DROP COLUMN price_cents;\n',
);

afterAll(async () => {
  for (const database of databases) await dropDatabase(adminUrl, database);
});

describe('pg', () => {
  it('When migrations run twice on each service database, then the second run applies nothing', async () => {
    for (const database of databases) {
      expect(await migrate({ adminUrl, database, dir })).toEqual([
        '001_create_items',
        '002_add_price',
      ]);
      expect(await migrate({ adminUrl, database, dir })).toEqual([]);
    }
    const pool = createPool(databaseUrlFor(adminUrl, databases[0]!));
    const { rows } = await pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY column_name",
    );
    expect(rows.map((r) => r.column_name)).toEqual(['id', 'name', 'price_cents']);
    await pool.end();
  });

  it('When two services migrate concurrently, then each database ends up migrated once', async () => {
    const [a, b] = [uniqueName('race_a'), uniqueName('race_a')];
    databases.push(a, b);
    const results = await Promise.all([
      migrate({ adminUrl, database: a, dir }),
      migrate({ adminUrl, database: a, dir }),
      migrate({ adminUrl, database: b, dir }),
    ]);
    expect(results[0].length + results[1].length).toBe(2);
    expect(results[2]).toHaveLength(2);
  });

  it('When the work inside a transaction throws, then nothing it wrote remains', async () => {
    const pool = createPool(databaseUrlFor(adminUrl, databases[0]!));
    await expect(
      withTransaction(pool, async (client) => {
        await client.query("INSERT INTO items (id, name) VALUES (1, 'kept?')");
        throw new Error('business rule broken');
      }),
    ).rejects.toThrow('business rule broken');
    const { rowCount } = await pool.query('SELECT 1 FROM items WHERE id = 1');
    expect(rowCount).toBe(0);
    await pool.end();
  });
});
