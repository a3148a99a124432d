import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The learner's module an exercise check runs against: `<exercise>/start/<file>` by default;
 * EXERCISE_IMPL chooses another directory (`solution`, relative to the exercise, or any
 * absolute path), which is how the suite proves each check fails on start/ and passes on
 * solution/. `checkUrl` is the check's `import.meta.url`. The path goes to the service in
 * LAB_EXERCISE_MODULE (see @lab/shared/exercise).
 */
export function exerciseModule(checkUrl: string, file: string, env = process.env): string {
  const exerciseDir = fileURLToPath(new URL('.', checkUrl));
  const chosen = env.EXERCISE_IMPL ?? 'start';
  return join(isAbsolute(chosen) ? chosen : join(exerciseDir, chosen), file);
}

/** A lab's exercises, by directory name (`01-…`), in the guide's order. `labDir` is its lab/. */
export function exerciseDirs(labDir: string): string[] {
  return readdirSync(join(labDir, 'exercises'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/**
 * `pnpm lab <lab> exercise <n>`: runs exercise n's check, which fails until the exercise is
 * done, with the lab's vitest.exercises.config.ts against the learner's start/ (or
 * EXERCISE_IMPL). Exit 2, listing the exercises, when `n` names none of them.
 */
export function runExercise(labDir: string, lab: string, n: string | undefined): number {
  const dirs = exerciseDirs(labDir);
  const dir = dirs.find((name) => Number(name.slice(0, 2)) === Number(n));
  if (n === undefined || !dir) {
    const asked = n === undefined ? 'Which exercise?' : `No exercise ${n}.`;
    process.stderr.write(
      `${asked} Usage: pnpm lab ${lab} exercise <n>, one of:\n${dirs.map((d) => `  ${d}`).join('\n')}\n`,
    );
    return 2;
  }
  process.stdout.write(`exercise ${dir}: see exercises/${dir}/README.md\n`);
  const result = spawnSync(
    process.execPath,
    [
      join(labDir, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      join(labDir, 'vitest.exercises.config.ts'),
      `exercises/${dir}/`,
    ],
    { cwd: labDir, stdio: 'inherit' },
  );
  return result.status ?? 1;
}
