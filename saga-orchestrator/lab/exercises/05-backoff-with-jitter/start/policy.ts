import type { StepRetrySettings } from '@lab/saga-orchestrator/seams';

/**
 * How long to wait before retry number `attempt` (1 = after the first failure). `random()`
 * returns a number in [0, 1).
 */
export function backoffMs(
  _attempt: number,
  _retry: StepRetrySettings,
  _random: () => number,
): number {
  return 0;
}
