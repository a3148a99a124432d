/**
 * The bench's own participant calls (the direct chain and the DBOS steps) go through the same
 * HTTP client the orchestrator uses, undici's request() on a keep-alive Agent: a different client
 * on one side would make the comparison say something about HTTP clients, not about sagas.
 */
import { Agent, request } from 'undici';

const agent = new Agent({ pipelining: 1 });

/**
 * POSTs `body` as JSON with an Idempotency-Key; resolves with the status once the body is read,
 * and the participant's own handling time from its Server-Timing header (0 without one).
 */
export async function postJson(
  url: string,
  idempotencyKey: string,
  body: object,
  timeoutMs = 30_000,
): Promise<{ status: number; serverMs: number }> {
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.body.dump();
  const timing = /app;dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''));
  return { status: res.statusCode, serverMs: timing ? Number(timing[1]) : 0 };
}

/** POSTs `body` as JSON with extra headers; resolves with the status and the parsed answer. */
export async function postForJson(
  url: string,
  body: object,
  headers: Record<string, string>,
  timeoutMs = 120_000,
): Promise<{ status: number; body: unknown }> {
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.statusCode, body: await res.body.json() };
}
