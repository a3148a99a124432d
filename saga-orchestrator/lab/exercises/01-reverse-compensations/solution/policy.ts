/**
 * Undo newest first: a later step may rest on an earlier one (the car hire was booked for the
 * flight's arrival), so the earlier step is released only when nothing depends on it any more.
 */
export function compensationOrder(completed: readonly string[]): string[] {
  return [...completed].reverse();
}
