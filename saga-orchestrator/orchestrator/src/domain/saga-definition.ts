/**
 * A saga is declared, not coded: steps in order, each with its action, its compensation and
 * its retry policy. The step taxonomy decides what a failure means:
 * - compensatable: runs before the pivot and can be undone by its compensation;
 * - pivot: the go/no-go point; once it succeeds the saga only moves forward;
 * - retriable: runs after the pivot and must not fail for a business reason: an outage is
 *   retried until it passes, and a refusal leaves the saga CONFIRMATION_STUCK for an operator.
 */
export type StepKind = 'compensatable' | 'pivot' | 'retriable';

export interface ParticipantCall {
  participant: string;
  path: string;
  body?: Record<string, unknown>;
}

export interface StepRetrySettings {
  /**
   * Attempts before a transient failure counts as a failure. Ignored for retriable steps,
   * which cannot give up, and for compensations, which go STUCK after COMPENSATION_STUCK_AFTER.
   */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per attempt: the HTTP call is aborted after this long. */
  timeoutMs: number;
  /**
   * Budget for all attempts of the step, stored in the log so a restart honours it. It bounds
   * only the steps that can still fail (up to the pivot): retriable steps and compensations
   * run past it.
   */
  deadlineMs: number;
}

export interface StepDefinition<T> {
  name: string;
  kind: StepKind;
  action: (input: T, sagaId: string) => ParticipantCall;
  /**
   * Undoes the action. Required for compensatable steps; on the pivot it runs only when the
   * pivot failed after an ambiguous attempt (its effect may exist although we saw no answer).
   */
  compensation?: { name: string; call: (input: T, sagaId: string) => ParticipantCall };
  retry: StepRetrySettings;
}

export interface SagaDefinition<T> {
  name: string;
  steps: readonly StepDefinition<T>[];
}

export class SagaDefinitionError extends Error {
  readonly problems: readonly string[];
  constructor(name: string, problems: readonly string[]) {
    super(`Saga "${name}" is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SagaDefinitionError';
    this.problems = problems;
  }
}

/** Run at start-up: an orchestrator with a definition that could strand a saga refuses to start. */
export function validateSaga<T>(definition: SagaDefinition<T>): SagaDefinition<T> {
  const problems: string[] = [];
  const pivots = definition.steps.filter((step) => step.kind === 'pivot');
  if (pivots.length !== 1) problems.push(`expected exactly one pivot step, found ${pivots.length}`);
  const pivotIndex = definition.steps.findIndex((step) => step.kind === 'pivot');
  const names = new Set<string>();
  definition.steps.forEach((step, index) => {
    for (const name of [step.name, step.compensation?.name]) {
      if (name === undefined) continue;
      if (names.has(name)) problems.push(`the name "${name}" is used twice`);
      names.add(name);
    }
    if (step.kind === 'compensatable') {
      if (!step.compensation)
        problems.push(`compensatable step "${step.name}" has no compensation`);
      if (pivotIndex >= 0 && index > pivotIndex)
        problems.push(
          `compensatable step "${step.name}" comes after the pivot; nothing can undo it once the pivot has committed the saga`,
        );
    }
    if (step.kind === 'retriable') {
      if (pivotIndex >= 0 && index < pivotIndex)
        problems.push(`retriable step "${step.name}" comes before the pivot`);
      if (step.compensation)
        problems.push(`retriable step "${step.name}" has a compensation that could never run`);
    }
    if (step.retry.maxAttempts < 1 || step.retry.timeoutMs < 1)
      problems.push(`step "${step.name}" needs maxAttempts >= 1 and timeoutMs >= 1`);
  });
  if (problems.length > 0) throw new SagaDefinitionError(definition.name, problems);
  return definition;
}
