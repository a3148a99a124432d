import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const labDir = join(import.meta.dirname, '..');
const vitest = join(labDir, 'node_modules', 'vitest', 'vitest.mjs');
const exercises = readdirSync(join(labDir, 'exercises')).filter((d) => /^\d\d-/.test(d));

function runCheck(dir: string, impl?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [vitest, 'run', '--config', 'vitest.exercises.config.ts', `exercises/${dir}/`],
      {
        cwd: labDir,
        env: { ...process.env, EXERCISE_IMPL: impl, VITEST: undefined, NODE_ENV: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // 'close', not 'exit': a process can exit before its pipes are drained, and the
    // assertions read the output's last lines.
    child.once('close', (code) => {
      resolve({ code, output });
    });
  });
}

describe('exercises', () => {
  it('has at least five numbered exercises', () => {
    expect(exercises.length).toBeGreaterThanOrEqual(5);
  });

  for (const dir of exercises) {
    it(
      `When ${dir} is checked, then it fails on start/ and passes on solution/`,
      { timeout: 120_000 },
      async () => {
        const [start, solution] = await Promise.all([
          runCheck(dir),
          runCheck(dir, join(labDir, 'exercises', dir, 'solution')),
        ]);
        expect(start.code, `start/ passed the check:\n${start.output}`).not.toBe(0);
        expect(start.output).toMatch(/AssertionError/);
        expect(solution.code, `solution/ failed the check:\n${solution.output}`).toBe(0);
      },
    );
  }
});
