import { afterAll, describe, expect, test } from 'vitest';
import { createPool, databaseUrlFor } from '@lab/shared/pg';
import { runLabCommand } from '@lab/shared/testkit';
import {
  adminDatabaseUrl,
  startSagaMonolith,
  uniqueDatabases,
  uniqueMonolithDatabase,
} from '../src/services.ts';

const adminUrl = adminDatabaseUrl();
const admin = createPool(adminUrl, { max: 1 });

afterAll(async () => {
  await admin.end();
});

/** Which of these databases exist, and how many roles start with `rolePrefix`. */
async function holdings(databases: string[], rolePrefix: string) {
  const { rows } = await admin.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname = ANY($1::text[]) ORDER BY datname',
    [databases],
  );
  const roles = await admin.query('SELECT 1 FROM pg_roles WHERE starts_with(rolname, $1)', [
    rolePrefix,
  ]);
  return { databases: rows.map((row) => row.datname), roles: roles.rowCount };
}

describe('pnpm lab saga reset', () => {
  test('When a database is in use, then reset refuses and drops nothing; once nothing is connected, it drops the five databases, the monolith and its roles', async () => {
    // The split lab's five databases, as `up` leaves them, and a monolith that ran and stopped.
    const split = uniqueDatabases('reset');
    for (const name of Object.values(split)) await admin.query(`CREATE DATABASE "${name}"`);
    const database = uniqueMonolithDatabase('reset');
    const monolith = await startSagaMonolith({ database });
    await monolith.service.stop();
    const all = [...Object.values(split), database].sort();
    const args = [
      'saga',
      'reset',
      '--dbs',
      Object.values(split).join(','),
      '--monolith-db',
      database,
    ];
    const before = await holdings(all, `${database}_`);

    const session = createPool(databaseUrlFor(adminUrl, split.hotels), { max: 1 });
    await session.query('SELECT 1');
    const refused = await runLabCommand(args, { timeoutMs: 60_000 });
    const whileInUse = await holdings(all, `${database}_`);
    await session.end();
    const done = await runLabCommand(args, { timeoutMs: 60_000 });

    expect(before).toEqual({ databases: all, roles: 5 });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`${split.hotels} in use`);
    expect(whileInUse).toEqual(before);
    expect(done.code, `stdout:\n${done.stdout}\nstderr:\n${done.stderr}`).toBe(0);
    expect(await holdings(all, `${database}_`)).toEqual({ databases: [], roles: 0 });
  });
});
