import { readdirSync } from 'node:fs';
import { proveExercises } from '@lab/shared/testkit/exercise-checks';

proveExercises({
  labDir: new URL('..', import.meta.url).pathname,
  exercises: readdirSync(new URL('../exercises', import.meta.url)).filter((d) => /^\d\d-/.test(d)),
});
