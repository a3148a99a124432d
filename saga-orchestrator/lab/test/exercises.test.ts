import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { participants, startSagaLab, uniqueDatabases, type SagaLab } from '../src/services.ts';

const run = promisify(execFile);
const labDir = join(import.meta.dirname, '..');
const exercises = readdirSync(join(labDir, 'exercises'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

let lab: SagaLab;
beforeAll(async () => {
  // One set of participants for every check; each check starts its own orchestrator on them.
  lab = await startSagaLab({ databases: uniqueDatabases('exercises'), orchestrator: false });
});
afterAll(async () => {
  await lab.stop();
});

async function check(exercise: string, impl: string) {
  const shared = Object.fromEntries(participants.map((name) => [name, lab.urls[name]]));
  try {
    await run(
      process.execPath,
      [
        join(labDir, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--config',
        'vitest.exercises.config.ts',
        `exercises/${exercise}/`,
      ],
      {
        cwd: labDir,
        env: {
          ...process.env,
          EXERCISE_IMPL: impl,
          SAGA_EXERCISE_PARTICIPANTS: JSON.stringify(shared),
        },
        timeout: 150_000,
      },
    );
    return { passed: true, output: '' };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return { passed: false, output: `${stdout}\n${stderr}` };
  }
}

describe('every exercise check fails on the starting code and passes with the solution', () => {
  test('When the exercises are listed, then there are at least five', () => {
    expect(exercises.length).toBeGreaterThanOrEqual(5);
  });

  test.each(exercises)(
    'When %s is checked, then start fails for its reason and solution passes',
    { timeout: 300_000 },
    async (exercise) => {
      const start = await check(exercise, join(labDir, 'exercises', exercise, 'start'));
      expect(start.passed, 'the check must fail on the starting code').toBe(false);
      expect(start.output).toMatch(/AssertionError/);

      const solution = await check(exercise, join(labDir, 'exercises', exercise, 'solution'));
      expect(solution.passed, solution.output.slice(-2000)).toBe(true);
    },
  );
});
