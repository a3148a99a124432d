/**
 * The doorbell against a PRIVATE PostgreSQL whose doorbell session stops answering: the
 * machine's shared server is never touched, and no other session on this one holds the lock.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { createLogger } from '@lab/shared/logging';
import { startPrivatePostgres, waitFor, type PrivatePostgres } from '@lab/shared/testkit';
import { createOutboxDoorbell } from '../src/entry-points/outbox/outbox-listener.ts';

const DOORBELL_LOCK = 3_101_104;

let server: PrivatePostgres;
let observer: pg.Client;
beforeAll(async () => {
  server = await startPrivatePostgres();
  observer = new pg.Client({ connectionString: server.url });
  observer.on('error', () => undefined);
  await observer.connect();
}, 60_000);
afterAll(async () => {
  try {
    await (observer as pg.Client | undefined)?.end();
  } finally {
    (server as PrivatePostgres | undefined)?.destroy();
  }
});

/** The sessions holding the doorbell lock, by backend pid. */
async function doorbellHolders(): Promise<number[]> {
  const { rows } = await observer.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`,
    [DOORBELL_LOCK],
  );
  return rows.map((row) => row.pid);
}

describe('the outbox doorbell', () => {
  test('When its session stops answering while the relay takes the lock, then that session is dropped, and once it answers again nothing holds the lock behind the relay’s back', async () => {
    // Arrange: a relay that slept on the doorbell and woke again, so it holds a session and
    // no lock
    const doorbell = createOutboxDoorbell(server.url, createLogger('relay', 'silent'));
    let frozen: number | undefined;
    try {
      await waitFor('the relay to take the doorbell', async () => {
        await doorbell.wait(10);
        return (await doorbellHolders()).length === 1;
      });
      [frozen] = await doorbellHolders();
      await doorbell.working();
      expect(await doorbellHolders()).toEqual([]);

      // Act: the session freezes as the relay goes to sleep again: its take gets no answer
      // in time, and runs on the server once the session answers again
      execFileSync('kill', ['-STOP', String(frozen)]);
      await doorbell.wait(10);
      execFileSync('kill', ['-CONT', String(frozen)]);
      frozen = undefined;

      // Assert: that late take died with its session; no lock is left that the relay does not
      // know it holds (which would have every command ring until the relay restarts)
      await waitFor('no session to hold the doorbell', async () =>
        (await doorbellHolders()).length === 0 ? true : undefined,
      );
    } finally {
      if (frozen !== undefined) execFileSync('kill', ['-CONT', String(frozen)]);
      await doorbell.close();
    }
  });
});
