import { expect, test } from 'vitest';
import { namesStartingWith, runLabCommand } from '@lab/shared/testkit';

// uniqueDatabases('demo') names the demo's five databases t_demo_<service>_<suffix>.
const demoPrefix = 't_demo_';
const stores = { databaseUrl: process.env.DATABASE_URL };

test('When a user runs `pnpm lab saga demo` with LOG_LEVEL=WARN (any case is a level), then the crashed saga resumes, the auditor finds no violation, it exits 0 and leaves no process or database behind', async () => {
  // Arrange
  const before = await namesStartingWith(demoPrefix, stores);

  // Act
  const run = await runLabCommand(['saga', 'demo'], {
    env: { LOG_LEVEL: 'WARN' },
    timeoutMs: 150_000,
  });

  // Assert
  expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
  expect(run.stderr).not.toContain('is not a log level');
  expect(run.stdout).toContain('orchestrator killed mid-saga; restarting it');
  expect(run.stdout).toContain('verify: no violations');
  expect(run.leftProcesses).toBe(false);
  const after = await namesStartingWith(demoPrefix, stores);
  expect(after.filter((name) => !before.includes(name))).toEqual([]);
}, 160_000);
