import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { migrate, type PoolClient } from '@lab/shared/pg';
import { waitFor } from '../../test/wait.ts';
import {
  COMMAND_MIGRATIONS,
  isolatedNamespace,
  startStack,
  stopAllStacks,
} from '../../src/services.ts';
import { openStores, type Stores } from '../../test/helpers.ts';
import { readEventTopic } from '../../test/kafka-reader.ts';
import { metric } from '../../test/metrics.ts';
import { exerciseModule } from '@lab/shared/testkit';

const ns = isolatedNamespace('ex02');
let relayUrl: string;
let stores: Stores;
let reader: Awaited<ReturnType<typeof readEventTopic>>;

beforeAll(async () => {
  await migrate({ adminUrl: ns.databaseUrl, database: ns.databaseName, dir: COMMAND_MIGRATIONS });
  stores = openStores(ns);
  const stack = await startStack({
    ns,
    only: ['relay'],
    env: {
      relay: { LAB_CHAOS: '1', LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'claim.ts') },
    },
  });
  relayUrl = stack.url('relay');
  reader = await readEventTopic(ns.kafkaBrokers, `${ns.topicPrefix}cqrs.events`);
});
afterAll(async () => {
  await stopAllStacks();
  await reader.stop();
  await stores.close();
});

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
  await client.query('SELECT pg_current_xact_id()');
  return client;
}
async function write(client: PoolClient, id: string, version: number) {
  await client.query(
    `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload) VALUES ('product', $1, $2, 'ProductRestocked', '{}')`,
    [id, version],
  );
}
async function commitOne(id: string, version: number) {
  const client = await begin();
  await write(client, id, version);
  await finish(client, 'COMMIT');
}
async function finish(client: PoolClient, how: 'COMMIT' | 'ROLLBACK') {
  await client.query(how);
  inTransaction.delete(client);
  client.release();
}
async function isPublished(id: string): Promise<boolean> {
  const { rows } = await stores.pool.query<{ published: boolean }>(
    'SELECT published_at IS NOT NULL AS published FROM outbox WHERE aggregate_id = $1',
    [id],
  );
  return rows[0]?.published === true;
}

describe('exercise 02: the outbox gap', () => {
  it('When a transaction holding an earlier position commits after a later one was published, then its event still reaches Kafka', async () => {
    const early = randomUUID();
    const late = randomUUID();
    const txEarly = await begin();
    await write(txEarly, early, 1);
    await commitOne(late, 1);
    // Give the relay every chance to move past the gap before the early transaction commits.
    const probe = randomUUID();
    await commitOne(probe, 1);
    await waitFor('the relay to publish past the gap or hold back', async () => {
      const heldBack = await metric(relayUrl, 'cqrs_relay_held_back_total');
      return reader.of(probe).length > 0 || heldBack > 0;
    });
    await finish(txEarly, 'COMMIT');

    // A relay publishes in position order, so once it has published an event committed after
    // the early one, the early one is published too, or was passed over for good: no need to
    // wait a minute for an event that will never come.
    const after = randomUUID();
    await commitOne(after, 1);
    await waitFor('the relay to publish the event committed after the early one', () =>
      isPublished(after),
    );
    expect(
      await isPublished(early),
      'the relay published a later event, but the early one is still unpublished: it moved past the gap',
    ).toBe(true);

    // Once the gap closes the relay publishes early then late, possibly in separate batches,
    // so wait for both before asserting neither was lost nor duplicated.
    await waitFor(
      'the early and the late event on the topic',
      () => reader.of(early).length > 0 && reader.of(late).length > 0,
      { timeoutMs: 60_000 },
    );
    expect(reader.of(early)).toEqual([1]);
    expect(reader.of(late)).toEqual([1]);
  });

  it("When an older transaction commits an aggregate's next event while a third is still open, then the topic has that aggregate's events in version order", async () => {
    const product = randomUUID();
    const txOld = await begin();
    const txOpen = await begin();
    await commitOne(product, 1);
    await write(txOld, product, 2);
    await finish(txOld, 'COMMIT');
    // A relay that merely filters on "settled" publishes v2 as soon as it polls now, so keep
    // txOpen open for two more held-back polls (the second began after v2's commit), or
    // until the relay has published the product.
    const heldAtCommit = await metric(relayUrl, 'cqrs_relay_held_back_total');
    await waitFor('the relay to hold both versions back or publish them', async () => {
      const heldBack = await metric(relayUrl, 'cqrs_relay_held_back_total');
      return reader.of(product).length > 0 || heldBack >= heldAtCommit + 2;
    });
    await finish(txOpen, 'ROLLBACK');

    await waitFor('both versions on the topic', () => reader.of(product).length >= 2, {
      timeoutMs: 60_000,
    });
    expect(reader.of(product)).toEqual([1, 2]);
  });

  it("When an aggregate's first event is still uncommitted and its second commits, then the second waits for it: the topic has them in version order", async () => {
    // A writer that does not serialise the aggregate (the lab's commands lock its row first, so
    // theirs cannot interleave; a direct insert can): v1 takes the lower position, v2 commits
    // first.
    const product = randomUUID();
    const heldBefore = await metric(relayUrl, 'cqrs_relay_held_back_total');
    const txFirst = await begin();
    await write(txFirst, product, 1);
    await commitOne(product, 2);
    const probe = randomUUID();
    await commitOne(probe, 1);
    await waitFor('the relay to publish past the open event or hold back', async () => {
      const heldBack = await metric(relayUrl, 'cqrs_relay_held_back_total');
      return reader.of(probe).length > 0 || heldBack > heldBefore;
    });
    await finish(txFirst, 'COMMIT');
    const after = randomUUID();
    await commitOne(after, 1);
    await waitFor('the relay to publish the event committed after', () => isPublished(after));
    const { rows } = await stores.pool.query<{ published: boolean }>(
      `SELECT published_at IS NOT NULL AS published FROM outbox
        WHERE aggregate_id = $1 AND aggregate_version = 1`,
      [product],
    );
    expect(rows[0]?.published, 'the first event was passed over for good').toBe(true);

    await waitFor('both versions on the topic', () => reader.of(product).length >= 2, {
      timeoutMs: 60_000,
    });
    expect(
      reader.of(product),
      'v2 was published while v1, at a lower position, was still uncommitted: stop at the first unsettled row',
    ).toEqual([1, 2]);
  });
});
