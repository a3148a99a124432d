import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { databaseUrlFor } from '../src/pg.ts';
import { own, release, uniqueName } from '../src/testkit/index.ts';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const database = uniqueName('owned_roles');
// Shares the database's name but not the owned prefix `${database}_`: it must survive.
const bystander = `${database}x`;

const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};
const rolesLike = (prefix: string) =>
  admin(async (client) =>
    (
      await client.query<{ rolname: string }>(
        'SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY rolname',
        [prefix],
      )
    ).rows.map((row) => row.rolname),
  );

afterAll(async () => {
  await admin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    for (const role of [`${database}_reader`, `${database}_writer`, bystander])
      await client.query(`DROP ROLE IF EXISTS "${role}"`);
  });
});

test('When a run owns a database and a role prefix, then release drops the database and the roles named with that prefix, even those holding grants in it, and no other role', async () => {
  // Arrange: roles belong to the server; a grant inside the database ties them to it.
  await admin(async (client) => {
    await client.query(`CREATE DATABASE "${database}"`);
    for (const role of [`${database}_reader`, `${database}_writer`, bystander])
      await client.query(`CREATE ROLE "${role}" NOLOGIN`);
  });
  const inDatabase = new pg.Client({ connectionString: databaseUrlFor(adminUrl, database) });
  await inDatabase.connect();
  await inDatabase.query('CREATE TABLE t (id int)');
  await inDatabase.query(`GRANT SELECT ON t TO "${database}_reader"`);
  await inDatabase.end();

  // Act
  const problems = await release(
    own({ postgres: { url: adminUrl, databases: [database], rolePrefixes: [`${database}_`] } }),
  );

  // Assert
  expect(problems).toEqual([]);
  expect(await rolesLike(database)).toEqual([bystander]);
  const left = await admin(
    async (client) =>
      (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount,
  );
  expect(left).toBe(0);
});
