/** `pnpm lab saga exercise <n>`: runs exercise n's check, which fails until the exercise is done. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const labDir = join(import.meta.dirname, '..', '..');

export function exercise(args: readonly string[]): number {
  const n = (args[0] ?? '').padStart(2, '0');
  const exercises = readdirSync(join(labDir, 'exercises')).filter((name) => /^\d\d-/.test(name));
  const dir = exercises.find((name) => name.startsWith(`${n}-`));
  if (!dir) {
    const asked = args[0] === undefined ? 'Which exercise?' : `No exercise ${args[0]}.`;
    const numbers = exercises.map((name) => Number(name.slice(0, 2))).join(', ');
    process.stderr.write(`${asked} The guide has ${numbers}: pnpm lab saga exercise 1\n`);
    return 2;
  }
  const result = spawnSync(
    process.execPath,
    [
      join(labDir, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      join(labDir, 'vitest.exercises.config.ts'),
      `exercises/${dir}/`,
    ],
    { stdio: 'inherit', cwd: labDir },
  );
  return result.status ?? 1;
}
