import type { RetryPolicy } from '../../../../orchestrator/src/domain/saga-definition.ts';

/**
 * How long to wait before retry number `attempt` (1 = after the first failure). `random()`
 * returns a number in [0, 1).
 */
export function backoffMs(_attempt: number, _retry: RetryPolicy, _random: () => number): number {
  return 0;
}
