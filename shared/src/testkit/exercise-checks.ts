/**
 * How each lab's test/exercises.test.ts proves its exercises: every check fails on the starting
 * code, by an assertion and not by its setup, and passes with the solution. For test files only:
 * it declares vitest hooks and tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgetLeftover, rememberLeftover } from './leftovers.ts';

/** One check file's outcome, as vitest's JSON reporter writes it. */
interface ExerciseCheckResult {
  status: string;
  message?: string;
  assertionResults: { status: string; failureMessages: string[] }[];
}

const OUTPUT_TAIL = 4000;
const exitWithParent = join(import.meta.dirname, 'exit-with-parent.ts');

/**
 * Runs every exercise check of the lab in `labDir` in one child vitest, with the lab's
 * vitest.exercises.config.ts as `pnpm lab <lab> exercise <n>` runs one, against `impl`: the
 * EXERCISE_IMPL every check resolves its learner's module from (`start` or `solution`, each
 * relative to its exercise). One check at a time: with the start and the solution runs side by
 * side, two checks share the machine, each with services of its own. Resolves with each
 * exercise's result by its directory name.
 */
async function runExerciseChecks(
  labDir: string,
  impl: 'start' | 'solution',
  env: Record<string, string> = {},
): Promise<Map<string, ExerciseCheckResult>> {
  const out = mkdtempSync(join(tmpdir(), 'lab-exercise-checks-'));
  const report = join(out, 'report.json');
  // A worker killed before the finally below leaves it to the leftovers' watcher.
  const leftover = rememberLeftover({ remove: out });
  try {
    const child = spawn(
      process.execPath,
      [
        // A worker that dies first (the run interrupted, the worker killed) takes the checks
        // with it, as it does the services it starts: their processes, then what they owned.
        '--import',
        exitWithParent,
        join(labDir, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--config',
        'vitest.exercises.config.ts',
        '--maxWorkers=1',
        '--reporter=json',
        `--outputFile=${report}`,
      ],
      { cwd: labDir, env: { ...process.env, ...env, EXERCISE_IMPL: impl } },
    );
    // Kept for the message when the run ends without a report (a check that cannot load).
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      // 'close', not 'exit': the pipes are drained, so the tail above is complete.
      child.once('close', () => {
        resolve();
      });
    });
    let results: (ExerciseCheckResult & { name: string })[];
    try {
      results = (JSON.parse(readFileSync(report, 'utf8')) as { testResults: typeof results })
        .testResults;
    } catch (error) {
      throw new Error(
        `the exercise checks on ${impl}/ wrote no report; their output ends:\n${output}`,
        {
          cause: error,
        },
      );
    }
    return new Map(results.map((r) => [/exercises\/([^/]+)\//.exec(r.name)?.[1] ?? r.name, r]));
  } finally {
    rmSync(out, { recursive: true, force: true });
    forgetLeftover(leftover);
  }
}

/**
 * The suite of a lab's test/exercises.test.ts: runs every check on start/ and on solution/, side
 * by side, then asserts for each exercise that its check failed an assertion (not its setup) on
 * start/ and passed every test on solution/. `envFor` gives each run its own environment (the
 * saga's checks their own participants).
 */
export function proveExercises(options: {
  labDir: string;
  exercises: string[];
  envFor?: (impl: 'start' | 'solution') => Promise<Record<string, string>>;
}): void {
  const { labDir, exercises, envFor } = options;
  const results = new Map<'start' | 'solution', Map<string, ExerciseCheckResult>>();
  beforeAll(async () => {
    await Promise.all(
      (['start', 'solution'] as const).map(async (impl) => {
        results.set(impl, await runExerciseChecks(labDir, impl, (await envFor?.(impl)) ?? {}));
      }),
    );
  }, 400_000);

  describe('exercises', () => {
    it('When the lab ships its exercises, then there are at least five', () => {
      expect(exercises.length).toBeGreaterThanOrEqual(5);
    });

    for (const dir of exercises)
      it(`When exercise ${dir} is checked, then an assertion fails on the starting code and every check passes with the solution`, () => {
        const onStart = results.get('start')?.get(dir);
        const onSolution = results.get('solution')?.get(dir);
        expect(
          onStart?.assertionResults.some((a) => a.status === 'failed'),
          `${dir} on start/: ${onStart?.message ?? 'no assertion failed'}`,
        ).toBe(true);
        expect(
          onStart?.assertionResults.flatMap((a) => a.failureMessages).join('\n'),
          `${dir} on start/ failed, but not by an assertion`,
        ).toMatch(/AssertionError/);
        expect(
          onSolution?.status,
          `${dir} on solution/: ${JSON.stringify(onSolution?.assertionResults.flatMap((a) => a.failureMessages) ?? onSolution?.message)}`,
        ).toBe('passed');
        expect(onSolution?.assertionResults.every((a) => a.status === 'passed')).toBe(true);
      });
  });
}
