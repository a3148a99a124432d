import { expect, test } from 'vitest';
import { namesStartingWith, runLabCommand } from '@lab/shared/testkit';

const stores = {
  databaseUrl: process.env.DATABASE_URL,
  redisUrl: process.env.REDIS_URL,
  kafkaBrokers: process.env.KAFKA_BROKERS,
};
// The demo's namespace: isolatedNamespace('demo') names its database, key and topic prefixes so.
const demoPrefix = 't_cqrs_demo_';

test('When a user runs `pnpm lab cqrs demo` with LOG_LEVEL=warn, then every step is narrated, it exits 0 and leaves no process, database, key or topic behind', async () => {
  // Arrange
  const before = await namesStartingWith(demoPrefix, stores);

  // Act
  const run = await runLabCommand(['cqrs', 'demo'], {
    env: { LOG_LEVEL: 'warn' },
    timeoutMs: 170_000,
  });

  // Assert
  expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
  // 8 lamps left after the first order, 20 racing for them: the narrated read shows the end.
  expect(run.stdout).toContain('8 succeeded, 12 got 409 insufficient-stock');
  expect(run.stdout).toContain('read model: stock 0, units sold 10');
  expect(run.stdout).toContain('nothing was lost');
  expect(run.stdout).toContain('no drift, no broken invariant');
  expect(run.leftProcesses).toBe(false);
  const after = await namesStartingWith(demoPrefix, stores);
  expect(after.filter((name) => !before.includes(name))).toEqual([]);
});
