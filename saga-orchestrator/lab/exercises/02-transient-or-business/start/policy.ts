import type { Answer } from '@lab/saga-orchestrator/seams';

/**
 * Sorts a participant's answer: `ok` moves on, `rejected` starts the compensations, and
 * `transient` is retried with backoff. `answer.status` is undefined when no HTTP answer came
 * (connection refused or reset, timeout).
 */
export function classify(answer: Answer): 'ok' | 'rejected' | 'transient' {
  if (answer.status !== undefined && answer.status >= 200 && answer.status < 300) return 'ok';
  return 'rejected';
}
