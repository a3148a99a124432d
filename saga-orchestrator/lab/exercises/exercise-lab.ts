/**
 * What every exercise check shares: a saga lab whose orchestrator loads the learner's module
 * (SAGA_POLICY_MODULE) from `EXERCISE_IMPL` (a directory), or from the exercise's `start/`.
 */
import { isAbsolute, join } from 'node:path';
import { startSagaLab, uniqueDatabases, type Participant, type SagaLab } from '../src/saga-lab.ts';

export function implementation(exerciseDir: string, file = 'policy.ts'): string {
  const chosen = process.env.EXERCISE_IMPL ?? './start';
  return join(isAbsolute(chosen) ? chosen : join(exerciseDir, chosen), file);
}

export async function exerciseLab(
  exerciseDir: string,
  orchestratorEnv: Record<string, string> = {},
): Promise<SagaLab> {
  // The suite that proves the exercises starts the participants once and shares them.
  const shared = process.env.SAGA_EXERCISE_PARTICIPANTS;
  const participantUrls = shared ? (JSON.parse(shared) as Record<Participant, string>) : undefined;
  return startSagaLab({
    databases: uniqueDatabases('exercise'),
    ...(participantUrls && { participantUrls }),
    orchestratorEnv: {
      SAGA_POLICY_MODULE: implementation(exerciseDir),
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '200',
      STEP_TIMEOUT_MS: '2000',
      ...orchestratorEnv,
    },
  });
}
