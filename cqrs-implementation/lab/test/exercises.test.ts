import { exerciseDirs } from '@lab/shared/testkit';
import { proveExercises } from '@lab/shared/testkit/exercise-checks';

const labDir = new URL('..', import.meta.url).pathname;
proveExercises({ labDir, exercises: exerciseDirs(labDir) });
