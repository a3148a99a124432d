/**
 * The Idempotency-Key sent with every participant call of a step. `attempt` counts from 1.
 */
export function idempotencyKey(sagaId: string, step: string, attempt: number): string {
  return `${sagaId}:${step}:${attempt}`;
}
