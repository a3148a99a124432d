/** Why one supplier attempt failed, as the gateway classifies it. */
export interface Failure {
  kind: 'http' | 'timeout' | 'connection' | 'caller-gone';
  /** The HTTP status when kind is 'http' (4xx or 5xx). */
  status: number | undefined;
}

/** Should the gateway try this GET again? */
export function isRetryable(failure: Failure): boolean {
  return failure.kind !== 'caller-gone';
}
