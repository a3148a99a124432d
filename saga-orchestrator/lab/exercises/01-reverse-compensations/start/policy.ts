/**
 * The order in which the orchestrator undoes the steps that completed before a failure.
 * `completed` lists step names in the order they ran, e.g. ['reserve-flight', 'reserve-hotel'].
 */
export function compensationOrder(completed: readonly string[]): string[] {
  return [...completed];
}
