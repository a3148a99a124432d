import { afterAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { createPool } from '@lab/shared/pg';
import { createRedis } from '@lab/shared/redis';
import { runLabCommand } from '@lab/shared/testkit';
import { waitFor } from './wait.ts';
import { commandClient, projectorClient } from '../src/client.ts';
import { isolatedNamespace, startStack, stopAllStacks } from '../src/services.ts';

const ns = isolatedNamespace('reset');
const admin = createPool(ns.databaseUrl, { max: 1 });
const redis = createRedis(ns.redisUrl);
const kafka = new Kafka({ brokers: ns.kafkaBrokers.split(','), logLevel: logLevel.NOTHING });

afterAll(async () => {
  await stopAllStacks();
  await admin.end();
  await redis.quit();
});

/** What the namespace holds in each store: its database, Redis keys, topics and groups. */
async function holdings() {
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    const mine = (name: string) => name.startsWith(ns.topicPrefix);
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      ns.databaseName,
    ]);
    return {
      database: rows.length,
      keys: (await redis.keys(`${ns.redisKeyPrefix}*`)).length,
      topics: (await kafkaAdmin.listTopics()).filter(mine).length,
      groups: (await kafkaAdmin.listGroups()).groups.filter((g) => mine(g.groupId)).length,
    };
  } finally {
    await kafkaAdmin.disconnect();
  }
}

/** `pnpm lab cqrs <task>` as a user runs it, on this file's namespace instead of the default one. */
const lab = (...task: string[]) =>
  runLabCommand(['cqrs', ...task], {
    env: {
      DATABASE_NAME: ns.databaseName,
      REDIS_KEY_PREFIX: ns.redisKeyPrefix,
      KAFKA_TOPIC_PREFIX: ns.topicPrefix,
    },
    timeoutMs: 60_000,
  });

describe('pnpm lab cqrs reset', () => {
  it('When the lab is running, then reset refuses and drops nothing; once it is stopped, reset drops its database, keys, topics and groups, verify finds nothing to audit, dlq list no dead letter and replay no log', async () => {
    const stack = await startStack({ ns });
    const command = commandClient(stack.url('command'));
    const product = await command.createProduct({
      sku: 'reset-lamp',
      name: 'Lamp',
      priceCents: 100,
      stock: 5,
    });
    expect(product.status).toBe(201);
    // A projector that starts on an empty store heals it from the log first, with a throwaway
    // replay group and a heal lease; both are gone once its checkpoint says `ready`, so only
    // then is what the namespace holds what it keeps.
    const projector = projectorClient(stack.url('projector'));
    await waitFor('the product in a whole read model', async () => {
      const { body } = await projector.status();
      const now = await holdings();
      return body.checkpoint === 'ready' && body.lagEvents === 0 && now.keys > 0 && now.groups > 0
        ? now
        : undefined;
    });

    const refused = await lab('reset');
    const whileRunning = await holdings();
    await stack.stop();
    const stopped = await holdings();
    const done = await lab('reset');
    const audit = await lab('verify');
    const deadLetters = await lab('dlq', 'list');
    const replayed = await lab('replay');

    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/in use; stop `pnpm lab cqrs up`/);
    expect(whileRunning).toMatchObject({ database: 1, topics: 2 });
    // Stopping the lab keeps everything: that is what reset is for.
    expect(stopped).toEqual(whileRunning);
    expect(done.code, `stdout:\n${done.stdout}\nstderr:\n${done.stderr}`).toBe(0);
    expect(await holdings()).toEqual({ database: 0, keys: 0, topics: 0, groups: 0 });
    // Nothing left to audit is not a clean audit.
    expect(audit.code).toBe(2);
    expect(audit.stderr).toMatch(/does not exist yet/);
    // Reading the dead letters of a reset lab finds none, and creates no topic to find them in.
    expect(deadLetters.code, deadLetters.stderr).toBe(0);
    expect(deadLetters.stdout).toContain('0 dead letter(s)');
    // Nor is there a log to replay: said as such, not as the broker's refusal.
    expect(replayed.code, replayed.stderr).toBe(2);
    expect(replayed.stderr).toMatch(/event topic .* does not exist yet/);
    expect(await holdings()).toEqual({ database: 0, keys: 0, topics: 0, groups: 0 });
  });
});
