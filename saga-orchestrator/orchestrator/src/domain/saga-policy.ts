import type { StepRetrySettings } from './saga-definition.ts';

export type CallOutcome =
  | { kind: 'ok'; status: number; participantMs: number }
  | { kind: 'rejected'; status: number; error: string }
  | { kind: 'transient'; error: string };

export interface Answer {
  status?: number;
  code?: string;
  error?: string;
  /**
   * The request was never written to a socket (its connection was refused or timed out, it was
   * still queued for one, or the step's deadline passed before it was sent), so it did nothing.
   */
  unreached?: boolean;
}

/**
 * The decisions a saga engine makes about failures, gathered in one object whose functions are
 * the orchestrator's exercise seams (see seams.ts): a learner's module replaces some of them.
 */
export interface SagaPolicy {
  /**
   * A business "no" (409, 422, any 4xx but 408 and 429) compensates; 408, 429, a 5xx and no
   * answer at all are transient: they might pass on retry.
   */
  classify: (answer: Answer) => 'ok' | 'rejected' | 'transient';
  /** The order to undo the steps that completed, given in the order they ran. */
  compensationOrder: (completed: readonly string[]) => string[];
  /** Same key on every attempt of a step: that is what lets a participant recognise a retry. */
  idempotencyKey: (sagaId: string, step: string, attempt: number) => string;
  /** Exponential backoff with full jitter: retries from many sagas do not arrive in waves. */
  backoffMs: (attempt: number, retry: StepRetrySettings, random: () => number) => number;
}

export const defaultPolicy: SagaPolicy = {
  classify: ({ status }) => {
    if (status === undefined) return 'transient';
    if (status >= 200 && status < 300) return 'ok';
    if (status === 408 || status === 429) return 'transient';
    if (status >= 400 && status < 500) return 'rejected';
    return 'transient';
  },
  compensationOrder: (completed) => [...completed].reverse(),
  idempotencyKey: (sagaId, step) => `${sagaId}:${step}`,
  backoffMs: (attempt, retry, random) => {
    const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(random() * ceiling);
  },
};
