import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The implementation an exercise check runs against: the learner's `start/` by default, or
 * EXERCISE_IMPL: a directory, or `start`/`solution` relative to the exercise.
 */
export function implementation(checkUrl: string, file: string): string {
  const exerciseDir = fileURLToPath(new URL('.', checkUrl));
  const chosen = process.env.EXERCISE_IMPL ?? 'start';
  const dir = isAbsolute(chosen) ? chosen : join(exerciseDir, chosen);
  return join(dir, file);
}
