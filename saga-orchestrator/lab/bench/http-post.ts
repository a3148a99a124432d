/**
 * The bench's own participant calls (the direct chain and the DBOS steps) go through the same
 * HTTP client the orchestrator uses, fetch: a different client on one side would make the
 * comparison say something about HTTP clients, not about sagas.
 */

/** POSTs `body` as JSON with an Idempotency-Key; resolves with the status once the body is read. */
export async function postJson(
  url: string,
  idempotencyKey: string,
  body: object,
  timeoutMs = 30_000,
): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  return res.status;
}
