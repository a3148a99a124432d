/**
 * One key per saga and step, whatever the attempt: a retry after a lost response must look
 * like the same request, so the participant replays its stored answer instead of acting again.
 */
export function idempotencyKey(sagaId: string, step: string, _attempt: number): string {
  return `${sagaId}:${step}`;
}
