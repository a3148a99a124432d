import { expect, test } from 'vitest';
import { runLabCommand } from '@lab/shared/testkit';

test('When a user runs `pnpm lab resilience demo` with LOG_LEVEL=verbose (not a level), then it says so, the breaker opens and closes again, it exits 0 and leaves no process behind', async () => {
  // Act
  const run = await runLabCommand(['resilience', 'demo'], {
    env: { LOG_LEVEL: 'verbose' },
    timeoutMs: 110_000,
  });

  // Assert
  expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
  expect(run.stderr).toContain('LOG_LEVEL=verbose is not a log level');
  expect(run.stdout).toContain('That is a cascade');
  expect(run.stdout).toMatch(/breaker path: closed → open → .*half-open → closed/);
  expect(run.leftProcesses).toBe(false);
}, 120_000);
