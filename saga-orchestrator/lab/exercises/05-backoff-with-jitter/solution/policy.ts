import type { StepRetrySettings } from '@lab/saga-orchestrator/seams';

/**
 * Exponential backoff with full jitter: the ceiling doubles per attempt up to maxDelayMs, and
 * the wait is a random point below it, so a thousand sagas failing together do not retry
 * together and knock the recovering participant over again.
 */
export function backoffMs(attempt: number, retry: StepRetrySettings, random: () => number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}
