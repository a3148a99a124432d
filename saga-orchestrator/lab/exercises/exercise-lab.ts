/**
 * What every exercise check shares: a saga lab whose orchestrator runs with the learner's
 * module as LAB_EXERCISE_MODULE (the orchestrator's seams, see @lab/saga-orchestrator/seams).
 * `exerciseModule` picks the file: the exercise's start/ by default, another directory with
 * EXERCISE_IMPL (`solution`, or an absolute path).
 */
import { exerciseModule } from '@lab/shared/testkit';
import { startSagaLab, uniqueDatabases, type Participant, type SagaLab } from '../src/services.ts';

/** The learner's file of the exercise whose check is `checkUrl` (its import.meta.url). */
export const policyModule = (checkUrl: string) => exerciseModule(checkUrl, 'policy.ts');

export async function exerciseLab(
  checkUrl: string,
  orchestratorEnv: Record<string, string> = {},
): Promise<SagaLab> {
  // The suite that proves the exercises starts the participants once and shares them.
  const shared = process.env.SAGA_EXERCISE_PARTICIPANTS;
  const participantUrls = shared ? (JSON.parse(shared) as Record<Participant, string>) : undefined;
  return startSagaLab({
    databases: uniqueDatabases('exercise'),
    ...(participantUrls && { participantUrls }),
    orchestratorEnv: {
      LAB_EXERCISE_MODULE: policyModule(checkUrl),
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '200',
      STEP_TIMEOUT_MS: '2000',
      ...orchestratorEnv,
    },
  });
}
