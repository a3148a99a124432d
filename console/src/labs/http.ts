import { randomBytes } from 'node:crypto';

/** A lab that does not answer a poll (GET) within this long is shown as not running. */
const ANSWER_WITHIN_MS = 1500;
/**
 * What an action a learner clicked (any other method) waits for by default
 * (CONSOLE_ACTION_TIMEOUT_MS): on a loaded machine a write can take seconds, and giving up at
 * the poll's bound would report an error for an action the lab went on to carry out.
 */
export const ACTION_WITHIN_MS = 10_000;

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
 * The lab could not be reached: nothing listening, no such host, or no connection made (or a
 * read whose connection dropped, which is safe to send again). Only this is "the lab is
 * unreachable" (503 with Retry-After); any other error on the way is the console's own.
 */
export class LabUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(`${url}: ${reasonOf(cause)}`, { cause });
    this.name = 'LabUnreachable';
  }
}

/**
 * The request went out but its answer never came: it ran out of time, or (for an action) the
 * connection closed first. Not "away": the lab may well have carried an action out, so a
 * client must look at its state before sending it again.
 */
export class LabAnswerLost extends Error {
  readonly timedOut: boolean;
  readonly action: boolean;
  constructor(url: string, method: string, timeoutMs: number | undefined, cause: unknown) {
    super(
      `${url}: ${timeoutMs === undefined ? `the connection closed before an answer (${reasonOf(cause)})` : `no answer within ${timeoutMs} ms`}`,
      { cause },
    );
    this.name = 'LabAnswerLost';
    this.timedOut = timeoutMs !== undefined;
    this.action = method !== 'GET';
  }
}

/** fetch's own error says "fetch failed"; the socket's error under it says why. */
function reasonOf(cause: unknown): string {
  const reason = cause instanceof Error ? ((cause.cause as Error | undefined) ?? cause) : cause;
  return reason instanceof Error ? reason.message : String(reason);
}

/** Socket errors that mean no request reached a lab: nothing listened, or no connection was made. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export async function call<T = unknown>(
  method: string,
  url: string,
  options: CallOptions = {},
): Promise<Answer<T>> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? (method === 'GET' ? ANSWER_WITHIN_MS : ACTION_WITHIN_MS);
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
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (error) {
    if ((error as Error | undefined)?.name === 'TimeoutError')
      throw new LabAnswerLost(url, method, timeoutMs, error);
    const code = ((error as Error | undefined)?.cause as { code?: string } | undefined)?.code;
    // An action whose connection failed after it was sent may have been carried out.
    if (method !== 'GET' && !NOT_SENT.has(code ?? ''))
      throw new LabAnswerLost(url, method, undefined, error);
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

/** `call` whose actions wait `actionWithinMs` unless told otherwise: the console's configured patience. */
export function callWithin(actionWithinMs: number) {
  return <T = unknown>(method: string, url: string, options: CallOptions = {}) =>
    call<T>(method, url, { ...(method !== 'GET' && { timeoutMs: actionWithinMs }), ...options });
}

/**
 * The lab answered, but not with what the action needed: a refusal (its status and problem
 * document are passed on), or a 2xx whose body is not the JSON object the action reads.
 */
export class LabRefused extends Error {
  readonly answer: Answer;
  constructor(what: string, answer: Answer, why = `the lab answered ${answer.status}`) {
    super(`${what}: ${why}`);
    this.name = 'LabRefused';
    this.answer = answer;
  }
}

/** The body of a 2xx answer that is a JSON object; anything else is thrown as LabRefused. */
export async function expectOk<T>(what: string, pending: Promise<Answer<T>>): Promise<T> {
  const answer = await pending;
  if (answer.status >= 300) throw new LabRefused(what, answer);
  if (!isObject(answer.body))
    throw new LabRefused(
      what,
      answer,
      `the lab answered ${answer.status} with a body that is not a JSON object`,
    );
  return answer.body;
}

/** Whether an answer's body is a JSON object, as every lab endpoint the console reads answers. */
export function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/**
 * GET that resolves to the body of a 2xx answer, or undefined when the lab is away. A 2xx whose
 * body is not a JSON object (`null`, a string, another program's HTML on the lab's port) is not
 * the lab either, and counts as away rather than failing the refresh that asked.
 */
export async function poll<T>(url: string): Promise<T | undefined> {
  try {
    // Marked as a poll, so the lab records no trace of it (POLL_HEADER in @lab/shared's
    // telemetry): the page's refreshes would otherwise bury the traces of what a learner did.
    const answer = await call<T>('GET', url, { headers: { 'x-lab-poll': 'console' } });
    return answer.status < 300 && isObject(answer.body) ? answer.body : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the entries of a time-stamped history younger than `keepMs`. */
export function prune(history: { at: number }[], keepMs: number, now = Date.now()) {
  while (history.length > 0 && (history[0]?.at ?? now) < now - keepMs) history.shift();
}
