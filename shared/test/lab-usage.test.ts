import { describe, expect, it } from 'vitest';
import { runLabCommand } from '../src/testkit/index.ts';

// What a new user types first. Asking for help is not an error (exit 0, usage on stdout); a
// task or lab that does not exist is (exit 2), and stderr names what was not understood.
describe('pnpm lab usage', () => {
  it.each([[[]], [['--help']], [['cqrs', '--help']], [['saga', '-h']], [['resilience', 'help']]])(
    'When a user asks `pnpm lab %j` for help, then it prints the usage and exits 0',
    async (args) => {
      const result = await runLabCommand(args, { timeoutMs: 30_000 });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('Usage: pnpm lab');
      expect(result.stderr).not.toContain('Unknown');
    },
  );

  it.each([
    [['nope'], 'Unknown lab "nope"'],
    [['cqrs', 'nope'], 'Unknown task "nope"'],
    [['saga', 'nope'], 'Unknown task "nope"'],
    [['resilience', 'nope'], 'Unknown task "nope"'],
  ])(
    'When a user types `pnpm lab %j`, then stderr names it, the usage follows and it exits 2',
    async (args, message) => {
      const result = await runLabCommand(args, { timeoutMs: 30_000 });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toContain('Usage: pnpm lab');
    },
  );

  // A misspelt option ignored would run the task without it: `rebuild --froce` a plain rebuild,
  // `reset --db x` a reset of the default databases. So the task does not start.
  it.each([
    [['cqrs', 'rebuild', '--froce'], "Unknown option '--froce'"],
    [['cqrs', 'dlq', 'list', 'now'], 'Unexpected argument "now"'],
    [['saga', 'reset', '--db', 'x'], "Unknown option '--db'"],
    [['saga', 'verify', '--dbs'], "Option '--dbs <value>' argument missing"],
    [['resilience', 'experiment', 'cascade', '--quik'], "Unknown option '--quik'"],
    [['resilience', 'demo', 'fast'], 'Unexpected argument "fast"'],
  ])(
    'When a user types `pnpm lab %j`, then stderr names what is wrong, the usage follows, it exits 2 and the task never starts',
    async (args, message) => {
      const result = await runLabCommand(args, { timeoutMs: 30_000 });
      expect(result.code, result.stdout).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain('Usage: pnpm lab');
      // Every one of these tasks reports on stdout once it runs: nothing there but where the
      // lab's traces would go (said as the lab loads), nothing ran.
      expect(result.stdout.replace(/^traces: .*\n/m, '')).toBe('');
      expect(result.leftProcesses).toBe(false);
    },
  );
});

// A setting a service refuses stops the lab before it runs. The user reads the service's own
// words (which setting, what it got) once, not a stack trace that looks like the lab crashing.
describe('a lab whose service refuses its setting', () => {
  it.each([
    [['saga', 'demo'], { STEP_TIMEOUT_MS: 'abc' }, 'saga demo: '],
    [['cqrs', 'demo'], { RELAY_BATCH_SIZE: 'abc' }, 'cqrs demo: '],
    [['resilience', 'up', '--console=false'], { TIMEOUT_MS: 'abc' }, 'resilience up: '],
  ])(
    'When a user runs `pnpm lab %j` with %j, then it exits 1 naming the setting, with no stack trace and no process left',
    async (args, env, label) => {
      const [setting = ''] = Object.keys(env);

      const result = await runLabCommand(args, { env, timeoutMs: 120_000 });

      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(label);
      expect(result.stderr).toContain('did not become ready');
      expect(result.stderr).toContain(`${setting}: Invalid input`);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.leftProcesses).toBe(false);
    },
  );
});
