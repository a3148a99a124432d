import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_DIR } from '../services.ts';

const EXERCISES = join(LAB_DIR, 'lab', 'exercises');

export function exerciseDirs(): string[] {
  return readdirSync(EXERCISES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d\d-/.test(d.name))
    .map((d) => d.name)
    .sort();
}

/** Runs one exercise's check with vitest; `EXERCISE_IMPL` may point at another implementation. */
export function runExerciseCheck(dir: string, env: Record<string, string> = {}, quiet = false) {
  return spawnSync(
    process.execPath,
    [
      join(LAB_DIR, 'lab', 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      join(LAB_DIR, 'lab', 'vitest.exercises.config.ts'),
      `exercises/${dir}/`,
    ],
    {
      cwd: join(LAB_DIR, 'lab'),
      env: { ...process.env, ...env },
      stdio: quiet ? 'pipe' : 'inherit',
      encoding: 'utf8',
    },
  );
}

/** `pnpm lab cqrs exercise <n>` */
export function exercise(args: string[]): number {
  const dirs = exerciseDirs();
  const n = Number(args[0]);
  const dir = dirs.find((d) => Number(d.slice(0, 2)) === n);
  if (!dir) {
    process.stdout.write(
      `usage: pnpm lab cqrs exercise <n>\n\n${dirs.map((d) => `  ${d}`).join('\n')}\n`,
    );
    return 2;
  }
  process.stdout.write(`exercise ${dir}: see exercises/${dir}/README.md\n`);
  return runExerciseCheck(dir).status ?? 1;
}
