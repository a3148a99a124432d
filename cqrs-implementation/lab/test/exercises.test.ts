import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseDirs } from '../src/tasks/exercise.ts';

interface FileResult {
  name: string;
  status: string;
  message?: string;
  assertionResults: { status: string; failureMessages: string[] }[];
}

const out = mkdtempSync(join(tmpdir(), 'cqrs-exercises-'));
const labDir = join(import.meta.dirname, '..');

/** Runs every exercise check in a child vitest against one implementation, as `exercise <n>` does. */
function runChecks(impl: 'start' | 'solution'): Promise<Map<string, FileResult>> {
  const report = join(out, `${impl}.json`);
  const child = spawn(
    process.execPath,
    [
      join(labDir, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      'vitest.exercises.config.ts',
      '--reporter=json',
      `--outputFile=${report}`,
    ],
    {
      cwd: labDir,
      env: { ...process.env, EXERCISE_IMPL: impl, CQRS_EXERCISE_WORKERS: '1' },
      stdio: 'ignore',
    },
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => {
      try {
        const results = (JSON.parse(readFileSync(report, 'utf8')) as { testResults: FileResult[] })
          .testResults;
        resolve(
          new Map(results.map((r) => [/exercises\/([^/]+)\//.exec(r.name)?.[1] ?? r.name, r])),
        );
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

let start: Map<string, FileResult>;
let solution: Map<string, FileResult>;

beforeAll(async () => {
  [start, solution] = await Promise.all([runChecks('start'), runChecks('solution')]);
}, 400_000);
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

describe('exercises', () => {
  it('When the lab ships its exercises, then there are at least five', () => {
    expect(exerciseDirs().length).toBeGreaterThanOrEqual(5);
  });

  for (const dir of exerciseDirs()) {
    it(`When exercise ${dir} is checked, then an assertion fails on the starting code and every check passes with the solution`, () => {
      const onStart = start.get(dir);
      const onSolution = solution.get(dir);

      // Failing for the right reason: an assertion of the check failed, not its setup.
      expect(
        onStart?.assertionResults.some((a) => a.status === 'failed'),
        onStart?.message,
      ).toBe(true);
      expect(
        onSolution?.status,
        JSON.stringify(onSolution?.assertionResults.flatMap((a) => a.failureMessages)),
      ).toBe('passed');
      expect(onSolution?.assertionResults.every((a) => a.status === 'passed')).toBe(true);
    });
  }
});
