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
