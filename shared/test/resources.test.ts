import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, expect, onTestFinished, test } from 'vitest';
import { databaseUrlFor } from '../src/pg.ts';
import { own, release, uniqueName, waitFor } from '../src/testkit/index.ts';

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

const killedOwner = new URL('./fixtures/killed-owner.ts', import.meta.url).pathname;
const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });

test('When a process that owns a database and runs a private cluster and redis-server is SIGKILLed, then its watcher drops the database and stops both servers', async () => {
  // Arrange: also owned here, so a watcher that fails still leaves nothing behind.
  const name = uniqueName('killed_owner');
  const ownedHere = own({ postgres: { url: adminUrl, databases: [name] } });
  onTestFinished(async () => {
    await release(ownedHere);
  });
  const child = spawn(process.execPath, [killedOwner, adminUrl, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // A failure before the Act below: SIGKILL, as the Act does, so its watcher still cleans up.
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitFor('the servers up', () => out.includes('\n'), { timeoutMs: 60_000 });
  const { postgresPort, redisPort } = JSON.parse(out) as {
    postgresPort: number;
    redisPort: number;
  };
  expect(await accepting(postgresPort)).toBe(true);
  expect(await accepting(redisPort)).toBe(true);

  // Act: no exit handler runs.
  child.kill('SIGKILL');

  // Assert
  await waitFor(
    'the database dropped and both servers stopped',
    async () =>
      !(await accepting(postgresPort)) &&
      !(await accepting(redisPort)) &&
      (await admin(
        async (client) =>
          (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount,
      )) === 0,
    { timeoutMs: 60_000 },
  );
}, 120_000);
