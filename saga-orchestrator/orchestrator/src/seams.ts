/**
 * The orchestrator's exercise seams: what a learner's module may replace, and the types its
 * start/ and solution/ files are written against (`import ... from '@lab/saga-orchestrator/seams'`).
 *
 * A module the lab names in LAB_EXERCISE_MODULE (honoured only with LAB_CHAOS=1, see
 * @lab/shared/exercise) exports any of these names, and each replaces the production one:
 * - classify, compensationOrder, idempotencyKey, backoffMs: the saga policy's decisions about
 *   failures (domain/saga-policy.ts);
 * - sagaDefinition: the saga the orchestrator runs, given the step retry settings from config
 *   (domain/book-trip.saga.ts); start-up validates it like the production one.
 * A module exporting any other name is refused at start, so a misspelt export cannot leave a
 * check testing the production code.
 */
import { bookTripSaga } from './domain/book-trip.saga.ts';
import type { SagaDefinition, StepRetrySettings } from './domain/saga-definition.ts';
import { defaultPolicy, type SagaPolicy } from './domain/saga-policy.ts';

export type { TripRequest } from './domain/book-trip.saga.ts';
export { bookTripSaga, stepRetrySettings } from './domain/book-trip.saga.ts';
export {
  SagaDefinitionError,
  validateSaga,
  type ParticipantCall,
  type SagaDefinition,
  type StepDefinition,
  type StepKind,
  type StepRetrySettings,
} from './domain/saga-definition.ts';
export {
  defaultPolicy,
  type Answer,
  type CallOutcome,
  type SagaPolicy,
} from './domain/saga-policy.ts';

export type OrchestratorSeams = SagaPolicy & {
  sagaDefinition: (retry: StepRetrySettings) => SagaDefinition<unknown>;
};

/** The production implementation of every seam. */
export const orchestratorSeams: OrchestratorSeams = {
  classify: defaultPolicy.classify,
  compensationOrder: defaultPolicy.compensationOrder,
  idempotencyKey: defaultPolicy.idempotencyKey,
  backoffMs: defaultPolicy.backoffMs,
  sagaDefinition: (retry) => bookTripSaga(retry) as SagaDefinition<unknown>,
};
