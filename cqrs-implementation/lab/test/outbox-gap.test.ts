import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { migrate, type PoolClient } from '@lab/shared/pg';
import { waitFor } from './wait.ts';
import {
  COMMAND_MIGRATIONS,
  isolatedNamespace,
  startStack,
  stopAllStacks,
} from '../src/services.ts';
import { openStores, type Stores } from './helpers.ts';
import { readEventTopic } from './kafka-reader.ts';
import { metric } from './metrics.ts';

let stores: Stores;
let relayUrl: string;
let reader: Awaited<ReturnType<typeof readEventTopic>>;

beforeAll(async () => {
  const ns = isolatedNamespace('gap');
  await migrate({ adminUrl: ns.databaseUrl, database: ns.databaseName, dir: COMMAND_MIGRATIONS });
  stores = openStores(ns);
  relayUrl = (await startStack({ ns, only: ['relay'] })).url('relay');
  reader = await readEventTopic(ns.kafkaBrokers, `${ns.topicPrefix}cqrs.events`);
});
afterAll(async () => {
  await stopAllStacks();
  await reader.stop();
  await stores.close();
});

/** An outbox row as a command would write it, inside the caller's open transaction. */
async function writeEvent(client: PoolClient, aggregateId: string, version: number) {
  await client.query(
    `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload)
     VALUES ('product', $1, $2, 'ProductRestocked', '{}')`,
    [aggregateId, version],
  );
}

/** Clients in a transaction begun by `begin()` and not yet ended by `finish()`. */
const inTransaction = new Set<PoolClient>();

async function begin() {
  const client = await stores.pool.connect();
  inTransaction.add(client);
  // If the test fails first, destroy it: an open transaction stalls every relay and pool.end().
  onTestFinished(() => {
    if (inTransaction.delete(client)) client.release(true);
  });
  await client.query('BEGIN');
  // Take a transaction id now, as a command does with its first write.
  await client.query('SELECT pg_current_xact_id()');
  return client;
}

async function finish(client: PoolClient, how: 'COMMIT' | 'ROLLBACK') {
  await client.query(how);
  inTransaction.delete(client);
  client.release();
}

async function commitOne(aggregateId: string, version: number) {
  const client = await begin();
  await writeEvent(client, aggregateId, version);
  await finish(client, 'COMMIT');
}

const unpublished = async (ids: string[]) => {
  const { rows } = await stores.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = ANY($1) AND published_at IS NULL',
    [ids],
  );
  return rows[0]?.n;
};

/** Times the relay found committed events it had to hold back behind an open transaction. */
const heldBack = () => metric(relayUrl, 'cqrs_relay_held_back_total');

/**
 * Published on the topic is not yet marked in the outbox: the relay marks its batch after
 * Kafka acknowledged it, so a reader can see an event a moment before its row says so.
 */
const untilMarkedPublished = (ids: string[]) =>
  waitFor('the outbox rows marked published', async () => (await unpublished(ids)) === 0);

/** Enough relay wake-ups to be sure it looked: a later, unrelated event gets published. */
async function relayHasLookedAgain() {
  const probe = randomUUID();
  await commitOne(probe, 1);
  return probe;
}

/**
 * Transaction A holds an earlier outbox position open (A's event written, not committed) while
 * B commits a later one; resolves once the relay has seen B and held it back.
 */
async function heldBehindOpenTransaction() {
  const a = randomUUID();
  const b = randomUUID();
  const txA = await begin();
  await writeEvent(txA, a, 1);
  const heldBefore = await heldBack();
  await commitOne(b, 1);
  await waitFor('the relay to hold B back', async () => (await heldBack()) > heldBefore);
  return { a, b, txA };
}

describe('outbox gap', () => {
  it('When transaction A holds an earlier outbox position open while B commits a later one, then A is published after it commits, never skipped', async () => {
    const { a, b, txA } = await heldBehindOpenTransaction();
    // B is held back while A (older) might still commit before it: nothing is lost by waiting.
    expect(reader.of(b)).toEqual([]);
    expect(await unpublished([b])).toBe(1);
    await finish(txA, 'COMMIT');

    await waitFor(
      'A and B on the topic',
      () => reader.of(a).length === 1 && reader.of(b).length === 1,
    );
    await untilMarkedPublished([a, b]);
  });

  it("When an event is held back 300 ms behind an open transaction, then the relay's metrics count that time as the event's wait for its batch", async () => {
    const phase = (name: string, le?: string) =>
      metric(
        relayUrl,
        `cqrs_relay_batch_phase_seconds_${le ? 'bucket' : 'count'}`,
        le ? `le="${le}",phase="${name}"` : `phase="${name}"`,
      );
    /** Observations of a phase above 250 ms, and all of them. */
    const waits = async () => ({
      slow: (await phase('waiting')) - (await phase('waiting', '0.25')),
      all: await phase('waiting'),
    });
    const batches = () => Promise.all(['claim', 'publish', 'mark', 'commit'].map((p) => phase(p)));
    const waitsBefore = await waits();
    const batchesBefore = await batches();

    const { a, b, txA } = await heldBehindOpenTransaction();
    // The injected fault: A's transaction stays open 300 ms after B committed.
    await sleep(300);
    await finish(txA, 'COMMIT');
    await untilMarkedPublished([a, b]);

    // The batch is recorded just after its commit, which the test may see first.
    await waitFor('B recorded as having waited over 250 ms', async () => {
      return (await waits()).slow > waitsBefore.slow;
    });
    expect((await waits()).all - waitsBefore.all).toBeGreaterThanOrEqual(2);
    // Every published batch records each of its round trips once.
    const added = (await batches()).map((n, i) => n - (batchesBefore[i] ?? 0));
    expect(added[0]).toBeGreaterThanOrEqual(1);
    expect(new Set(added).size).toBe(1);
  });

  it('When transaction A rolls back after B committed a later position, then B is published and A never appears', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const txA = await begin();
    await writeEvent(txA, a, 1);
    await commitOne(b, 1);

    await finish(txA, 'ROLLBACK');

    // The gap A leaves is never filled: the relay must stop waiting for it, not hold B forever.
    await waitFor('B on the topic', () => reader.of(b).length === 1);
    const probe = await relayHasLookedAgain();
    await waitFor('a later event on the topic', () => reader.of(probe).length === 1);
    await untilMarkedPublished([b, probe]);
  });

  it("When an older transaction commits an aggregate's next event while a third transaction is still open, then the relay still publishes that aggregate's events in version order", async () => {
    const product = randomUUID();
    // txOld takes its transaction id first, txOpen second; v1 then commits in a newer one.
    const txOld = await begin();
    const txOpen = await begin();
    await commitOne(product, 1);
    await writeEvent(txOld, product, 2);
    await finish(txOld, 'COMMIT');

    // v2's transaction is older than txOpen, so on its own it looks "settled"; publishing it
    // now would put v2 on the topic before v1. The relay must hold both while txOpen runs.
    // A held-back relay polls again at once; of two more such polls, the second began after
    // v2's commit, so it had both versions in view.
    const heldAtCommit = await heldBack();
    await waitFor(
      'the relay to hold both versions back',
      async () => (await heldBack()) >= heldAtCommit + 2,
    );
    const probe = await relayHasLookedAgain();
    expect(await unpublished([product])).toBe(2);
    expect(reader.of(product)).toEqual([]);
    await finish(txOpen, 'ROLLBACK');

    await waitFor(
      'both versions and the probe on the topic',
      () => reader.of(product).length === 2 && reader.of(probe).length === 1,
    );
    expect(reader.of(product)).toEqual([1, 2]);
  });

  it("When an aggregate's first event is still uncommitted at the lower position and its second commits, then the second is held back until the first commits, and the topic has them in version order", async () => {
    // A writer that does not lock the aggregate's row (the lab's commands do) can leave v1
    // open at the lower position while v2 commits.
    const product = randomUUID();
    const txFirst = await begin();
    await writeEvent(txFirst, product, 1);
    const heldBefore = await heldBack();
    await commitOne(product, 2);

    await waitFor('the relay to hold v2 back', async () => (await heldBack()) > heldBefore);
    expect(reader.of(product)).toEqual([]);
    await finish(txFirst, 'COMMIT');

    await waitFor('both versions on the topic', () => reader.of(product).length === 2);
    expect(reader.of(product)).toEqual([1, 2]);
    await untilMarkedPublished([product]);
  });
});
