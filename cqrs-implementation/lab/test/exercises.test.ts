import { proveExercises } from '@lab/shared/testkit/exercise-checks';
import { exerciseDirs } from '../src/tasks/exercise.ts';

proveExercises({ labDir: new URL('..', import.meta.url).pathname, exercises: exerciseDirs() });
