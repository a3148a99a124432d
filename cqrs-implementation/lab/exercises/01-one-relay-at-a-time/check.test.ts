import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { migrate } from '@lab/shared/pg';
import { waitFor } from '../../test/wait.ts';
import {
  COMMAND_MIGRATIONS,
  isolatedNamespace,
  startStack,
  stopAllStacks,
} from '../../src/services.ts';
import { openStores, type Stores } from '../../test/helpers.ts';
import { readEventTopic } from '../../test/kafka-reader.ts';
import { exerciseModule } from '@lab/shared/testkit';

const ns = isolatedNamespace('ex01');
let stores: Stores;

beforeAll(async () => {
  await migrate({ adminUrl: ns.databaseUrl, database: ns.databaseName, dir: COMMAND_MIGRATIONS });
  stores = openStores(ns);
  const env = {
    relay: { LAB_CHAOS: '1', LAB_EXERCISE_MODULE: exerciseModule(import.meta.url, 'claim.ts') },
  };
  for (let i = 0; i < 2; i++) await startStack({ ns, only: ['relay'], env });
});
afterAll(async () => {
  await stopAllStacks();
  await stores.close();
});

describe('exercise 01: one relay at a time', () => {
  it('When two relays run, then every outbox event reaches Kafka exactly once', async () => {
    const reader = await readEventTopic(ns.kafkaBrokers, `${ns.topicPrefix}cqrs.events`);
    // Stopped even when an assertion fails: a live member keeps its consumer group from deletion.
    onTestFinished(() => reader.stop());
    const bursts = 5;
    for (let burst = 0; burst < bursts; burst++) {
      // One transaction, one NOTIFY: both relays wake up at the same moment.
      await stores.pool.query(
        `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload)
         SELECT 'product', gen_random_uuid(), 1, 'ProductCreated', jsonb_build_object('burst', $1::int)
           FROM generate_series(1, 100)`,
        [burst],
      );
      await waitFor('the burst to be published', async () => {
        const { rows } = await stores.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
        );
        return rows[0]?.n === 0;
      });
    }
    const marker = randomUUID();
    await stores.pool.query(
      `INSERT INTO outbox (aggregate_type, aggregate_id, aggregate_version, type, payload) VALUES ('product', $1, 1, 'ProductCreated', '{}')`,
      [marker],
    );
    await waitFor('the last event on the topic', () => reader.of(marker).length > 0, {
      timeoutMs: 60_000,
    });

    const keys = reader.seen.map((e) => `${e.aggregateId}@${e.aggregateVersion}`);
    expect(
      keys.length - new Set(keys).size,
      'events published more than once: two relays read the same unpublished rows',
    ).toBe(0);
    expect(keys).toHaveLength(bursts * 100 + 1);
  });

  it('When the relays are idle, then no one holds the relay lock: it lives only as long as a batch', async () => {
    // A lock taken per batch is free between polls; one kept by a pooled connection after its
    // batch (a session-level lock) never is, and the relay's other connections stand by.
    await waitFor(
      'the relay lock to be free between batches',
      async () => {
        const { rows } = await stores.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory'
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              -- The doorbell a sleeping relay holds on its own LISTEN session (the relay's
              -- outbox-listener.ts), not a batch's lock.
              AND objid <> 3101104`,
        );
        return rows[0]?.n === 0;
      },
      { timeoutMs: 10_000 },
    );
  });
});
