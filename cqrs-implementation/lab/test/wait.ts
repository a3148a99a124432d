import { waitFor as waitForCondition, type WaitOptions } from '@lab/shared/testkit';

/**
 * The test kit's waitFor with a deadline sized for this lab: a condition here often spans
 * four processes, Kafka and a consumer-group rebalance on a shared 2-core machine. The
 * deadline only bounds a failing test; a passing one returns as soon as the condition holds.
 */
export function waitFor<T>(
  description: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions = {},
): Promise<T> {
  return waitForCondition(description, probe, { timeoutMs: 60_000, ...options });
}
