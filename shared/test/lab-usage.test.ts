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
});
