import { afterAll } from 'vitest';
import { exerciseDirs } from '@lab/shared/testkit';
import { proveExercises } from '@lab/shared/testkit/exercise-checks';
import { participants, startSagaLab, uniqueDatabases, type SagaLab } from '../src/services.ts';

const labs: SagaLab[] = [];
afterAll(async () => {
  await Promise.all(labs.map((lab) => lab.stop()));
});

const labDir = new URL('..', import.meta.url).pathname;
proveExercises({
  labDir,
  exercises: exerciseDirs(labDir),
  // Each check starts its own orchestrator on a set of participants the run shares. The start
  // and the solution runs each get their own set: a check injects faults into a participant,
  // which a check of the other run would meet.
  envFor: async () => {
    const lab = await startSagaLab({
      databases: uniqueDatabases('exercises'),
      orchestrator: false,
    });
    labs.push(lab);
    const urls = Object.fromEntries(participants.map((name) => [name, lab.urls[name]]));
    return { SAGA_EXERCISE_PARTICIPANTS: JSON.stringify(urls) };
  },
});
