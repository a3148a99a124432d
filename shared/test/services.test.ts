import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { namesStartingWith, own, serviceGroup, uniqueName, waitFor } from '../src/testkit/index.ts';

const run = promisify(execFile);
const echo = new URL('./fixtures/echo-service.ts', import.meta.url).pathname;
const owner = new URL('./fixtures/owner.ts', import.meta.url).pathname;
const signalledOwner = new URL('./fixtures/signalled-owner.ts', import.meta.url).pathname;
const databaseUrl = process.env.DATABASE_URL ?? '';
const redisUrl = process.env.REDIS_URL ?? '';
const kafkaBrokers = process.env.KAFKA_BROKERS ?? '';
const stores = { databaseUrl, redisUrl, kafkaBrokers };
const redis = new Redis(redisUrl);

afterAll(async () => {
  await redis.quit();
});

describe('service group', () => {
  it('When one service is killed and restarted, then only it changes, and cleanup stops them all', async () => {
    const group = serviceGroup({
      services: {
        first: { entry: echo, env: { GREETING: 'first' }, order: 0 },
        second: { entry: echo, env: { GREETING: 'second' }, order: 1 },
      },
      timeoutMs: 60_000,
    });
    await group.startAll();
    const { first, second } = group.services;

    await group.kill('first');
    const restarted = await group.restart('first');

    expect(first?.alive()).toBe(false);
    expect(second?.alive()).toBe(true);
    expect(restarted.pid).not.toBe(first?.pid);
    const res = await fetch(`${group.url('first')}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', count: 1 }),
    });
    expect(await res.json()).toMatchObject({ greeting: 'first' });

    await group.cleanup();

    expect(restarted.alive()).toBe(false);
    expect(second?.alive()).toBe(false);
  });

  it('When a service is started again while its first process still runs, then cleanup stops both', async () => {
    const group = serviceGroup({
      services: { rival: { entry: echo, env: { GREETING: 'rival' } } },
      timeoutMs: 60_000,
    });
    try {
      const firstRun = await group.start('rival');
      const secondRun = await group.start('rival');

      expect(group.services.rival).toBe(secondRun);
      expect(firstRun.alive()).toBe(true);

      await group.cleanup();

      expect(firstRun.alive()).toBe(false);
      expect(secondRun.alive()).toBe(false);
    } finally {
      await group.cleanup();
    }
  });

  it('When a group that owns a database, a key prefix and a topic prefix is cleaned up, then they are gone and nothing else is', async () => {
    const name = uniqueName('owned');
    const neighbour = `${uniqueName('neighbour')}:key`;
    // Owned before anything is created: a failure half-way still leaves nothing on the shared
    // stores. The group drops its own on cleanup; the neighbour, which cleanup must spare, is
    // the kit's to drop when this file ends.
    const group = serviceGroup({
      services: {},
      owns: {
        postgres: { url: databaseUrl, databases: [name] },
        redis: { url: redisUrl, keyPrefixes: [`${name}:`] },
        kafka: { brokers: kafkaBrokers, topicPrefixes: [`${name}.`] },
      },
    });
    own({ redis: { url: redisUrl, keyPrefixes: [neighbour] } });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    await redis.set(`${name}:a`, '1');
    await redis.set(`${name}:b`, '2');
    await redis.set(neighbour, 'stays');
    const admin = new Kafka({
      brokers: kafkaBrokers.split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: `${name}.events`, replicationFactor: 1 }] });
    } finally {
      await admin.disconnect();
    }
    expect(await namesStartingWith(name, stores)).toHaveLength(4);

    await group.cleanup();

    expect(await namesStartingWith(name, stores)).toEqual([]);
    expect(await redis.getdel(neighbour)).toBe('stays');
  });

  it('When a process exits with a database it still owns, then the database is dropped on its way out', async () => {
    const name = uniqueName('exit_owner');

    const exit = await run(process.execPath, [owner, databaseUrl, name]).catch(
      (error: unknown) => (error as { code?: number }).code,
    );

    expect(exit).toBe(1);
    expect(await namesStartingWith(name, { databaseUrl })).toEqual([]);
  });

  it('When a process owning Redis keys is stopped by SIGTERM while its service writes them, then the service dies before the keys are deleted, and none is left', async () => {
    const prefix = `${uniqueName('signalled')}:`;

    const failure = (await run(process.execPath, [signalledOwner, redisUrl, prefix]).catch(
      (error: unknown) => error,
    )) as { code?: number; stdout?: string };
    const { pid } = JSON.parse(failure.stdout ?? '{}') as { pid?: number };
    await waitFor('the writing service gone', () => {
      try {
        process.kill(pid ?? 0, 0);
        return false;
      } catch {
        return true;
      }
    });

    expect(failure.code).toBe(143);
    expect(pid).toBeGreaterThan(0);
    expect(await namesStartingWith(prefix, { redisUrl })).toEqual([]);
  });
});
