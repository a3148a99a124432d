import { randomBytes } from 'node:crypto';

/** A lab that does not answer a poll (GET) within this long is shown as not running. */
const ANSWER_WITHIN_MS = 1500;
/**
 * What an action a learner clicked (any other method) waits for: on a loaded machine a write
 * can take seconds, and giving up at the poll's bound would report an error for an action the
 * lab went on to carry out.
 */
const ACTION_WITHIN_MS = 10_000;

export interface Answer<T = unknown> {
  status: number;
  body: T;
  ms: number;
}

/**
 * A new W3C trace for one console action: the lab's services continue it, so the console
 * knows the trace id to link without the lab having to return it.
 */
export function newTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

/**
 * The lab gave no answer: nothing listening, the connection dropped, or no answer in time. Only
 * this is "the lab is unreachable" (503); any other error on the way is the console's own.
 */
export class LabUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    const reason = cause instanceof Error ? ((cause.cause as Error | undefined) ?? cause) : cause;
    super(`${url}: ${reason instanceof Error ? reason.message : String(reason)}`, { cause });
    this.name = 'LabUnreachable';
  }
}

export async function call<T = unknown>(
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer<T>> {
  const started = performance.now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method,
      headers: {
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(
        options.timeoutMs ?? (method === 'GET' ? ANSWER_WITHIN_MS : ACTION_WITHIN_MS),
      ),
    });
    text = await res.text();
  } catch (error) {
    throw new LabUnreachable(url, error);
  }
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a metrics page, an HTML error from a proxy): keep the text.
  }
  return { status: res.status, body: body as T, ms: performance.now() - started };
}

/** GET that resolves to the body of a 2xx answer, or undefined when the lab is away. */
export async function poll<T>(url: string): Promise<T | undefined> {
  try {
    const answer = await call<T>('GET', url);
    return answer.status < 300 ? answer.body : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the entries of a time-stamped history younger than `keepMs`. */
export function prune(history: { at: number }[], keepMs: number, now = Date.now()) {
  while (history.length > 0 && (history[0]?.at ?? now) < now - keepMs) history.shift();
}
