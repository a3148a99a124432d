import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const labDir = join(import.meta.dirname, '..', '..');

/** Runs exercise n's check against the learner's start/ (or EXERCISE_IMPL when set). */
export function exercise(n: string | undefined): number {
  const dirs = readdirSync(join(labDir, 'exercises')).filter((d) => /^\d\d-/.test(d));
  const dir = dirs.find((d) => Number(d.slice(0, 2)) === Number(n));
  if (!dir) {
    process.stderr.write(
      `Usage: pnpm lab resilience exercise <n>, one of:\n${dirs.map((d) => `  ${d}`).join('\n')}\n`,
    );
    return 2;
  }
  const vitest = join(labDir, 'node_modules', 'vitest', 'vitest.mjs');
  const result = spawnSync(
    process.execPath,
    [vitest, 'run', '--config', join(labDir, 'vitest.exercises.config.ts'), `exercises/${dir}/`],
    { cwd: labDir, stdio: 'inherit' },
  );
  return result.status ?? 1;
}
