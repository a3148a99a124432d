/**
 * The one way a learner's exercise code reaches a running service. A service names its seams
 * (the functions an exercise may replace) with their production implementations; when the lab
 * runs it with LAB_CHAOS=1 and LAB_EXERCISE_MODULE=<path>, every seam that module exports
 * replaces the production one. Production never loads code from a path in its environment:
 * without LAB_CHAOS the variable is refused, so a stray setting cannot swap a service's logic.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';

type Seams = Record<string, unknown>;

export interface ExerciseEnv {
  LAB_CHAOS?: boolean;
  LAB_EXERCISE_MODULE?: string | undefined;
  /**
   * The service the module is for, where one environment starts several services that have
   * seams (`pnpm lab cqrs up`): the others run their own code. Unset, every service that
   * reads LAB_EXERCISE_MODULE takes it.
   */
  LAB_EXERCISE_SERVICE?: string | undefined;
}

export class ExerciseModuleError extends Error {
  override name = 'ExerciseModuleError';
}

/**
 * What a service starts with: `seams`, with the exercise module's swapped in
 * (resolveExerciseSeams). A module that cannot be used stops the service at start with one line
 * on stderr saying why, exit 1, no stack trace: the same as a bad setting (loadConfig).
 */
export async function withExerciseSeams<S extends object>(
  service: string,
  production: S,
  env: ExerciseEnv,
  logger?: Logger,
): Promise<S> {
  try {
    return await resolveExerciseSeams(service, production, env, logger);
  } catch (error) {
    if (!(error instanceof ExerciseModuleError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/**
 * Returns `seams` with each one the exercise module exports swapped in. A module that exports
 * something the service does not offer as a seam is refused with the list of seams it does
 * offer: a misspelt export would otherwise be ignored and the check would test nothing.
 */
// `object`, not Seams: an interface (which has no index signature) must be accepted as well.
export async function resolveExerciseSeams<S extends object>(
  service: string,
  production: S,
  env: ExerciseEnv,
  logger?: Logger,
): Promise<S> {
  const path = env.LAB_EXERCISE_MODULE;
  if (!path) return production;
  if (env.LAB_EXERCISE_SERVICE !== undefined && env.LAB_EXERCISE_SERVICE !== service)
    return production;
  const seams = production as Seams;
  if (!env.LAB_CHAOS)
    throw new ExerciseModuleError(
      `${service}: LAB_EXERCISE_MODULE is a lab-only setting; it needs LAB_CHAOS=1`,
    );
  const loaded = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  const replaced: string[] = [];
  const result: Seams = { ...seams };
  for (const [name, value] of Object.entries(loaded)) {
    if (!(name in seams))
      throw new ExerciseModuleError(
        `${service}: ${path} exports "${name}", which is not a seam of this service ` +
          `(seams: ${Object.keys(seams).join(', ')}); where several services start together, ` +
          `LAB_EXERCISE_SERVICE=<service> gives the module to one of them`,
      );
    if (typeof value !== typeof seams[name])
      throw new ExerciseModuleError(
        `${service}: ${path} exports "${name}" as a ${typeof value}, expected a ${typeof seams[name]}`,
      );
    result[name] = value;
    replaced.push(name);
  }
  logger?.warn({ module: path, replaced }, 'exercise code replaces production seams');
  return result as S;
}
