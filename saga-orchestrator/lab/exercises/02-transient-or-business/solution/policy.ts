import type { Answer } from '@lab/saga-orchestrator/seams';

/**
 * A 4xx is the participant saying "no" on purpose (sold out, declined): retrying cannot
 * change it, so compensate. A 5xx, a timeout or a dropped connection says nothing about the
 * business outcome: retry it (with the same idempotency key) before giving up.
 */
export function classify(answer: Answer): 'ok' | 'rejected' | 'transient' {
  const { status } = answer;
  if (status === undefined) return 'transient';
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429) return 'transient';
  if (status >= 400 && status < 500) return 'rejected';
  return 'transient';
}
