import { channel } from 'node:diagnostics_channel';
import { Agent, request } from 'undici';
import type { Answer } from '../domain/saga-policy.ts';
import type { ParticipantCall } from '../domain/saga-definition.ts';

export interface ParticipantAnswer extends Answer {
  participantMs: number;
}

/** "app;dur=1.234" from the participant: its own handling time, for the overhead metric. */
function serverTime(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  const match = /app;dur=([\d.]+)/.exec(value);
  return match ? Number(match[1]) : 0;
}

/**
 * The calls in flight, by idempotency key (one per attempt), and those whose request undici has
 * begun to write to a socket. undici publishes a request's header block on
 * `undici:client:sendHeaders` just before writing it, so a call that fails without being in
 * `written` never reached the participant: a refused connection, a request still queued for a
 * connection, or our own timeout while the connection was being made. Such an attempt is not
 * ambiguous, and there is nothing of it to compensate.
 */
const inFlight = new Set<string>();
const written = new Set<string>();
const IDEMPOTENCY_KEY = /\r\nidempotency-key: ([^\r]*)\r\n/;
channel('undici:client:sendHeaders').subscribe((message) => {
  const key = IDEMPOTENCY_KEY.exec((message as { headers: string }).headers)?.[1];
  if (key !== undefined && inFlight.has(key)) written.add(key);
});

/**
 * Calls a participant over HTTP with undici's request() on a keep-alive Agent (one pool of
 * reused connections per participant origin, pipelining 1). It skips fetch's WHATWG
 * Request/Response/stream layers, the orchestrator's main CPU cost per step. undici publishes
 * its diagnostics channels, which the telemetry's undici instrumentation turns into client
 * spans, so the trace context still travels in the traceparent header. The AbortSignal really
 * cancels the request: a hung participant costs this saga `timeoutMs`, not a socket and a
 * lease forever.
 */
export class ParticipantClient {
  private readonly urls: Record<string, string>;
  private readonly agent = new Agent({ pipelining: 1 });

  constructor(urls: Record<string, string>) {
    this.urls = urls;
  }

  async call(call: ParticipantCall, idempotencyKey: string, timeoutMs: number) {
    const base = this.urls[call.participant];
    if (!base) return { error: `no URL configured for ${call.participant}`, participantMs: 0 };
    const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
    inFlight.add(idempotencyKey);
    try {
      const res = await request(`${base}${call.path}`, {
        dispatcher: this.agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(call.body ?? {}),
        signal,
      });
      const text = await res.body.text();
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      let code: string | undefined;
      if (!ok) {
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
      }
      const answer: ParticipantAnswer = {
        status: res.statusCode,
        participantMs: serverTime(res.headers['server-timing']),
        ...(code !== undefined && { code, error: `${res.statusCode} ${code}` }),
        ...(code === undefined && !ok && { error: `HTTP ${res.statusCode}` }),
      };
      return answer;
    } catch (error) {
      const why = signal.aborted
        ? 'timeout'
        : error instanceof Error
          ? error.message
          : String(error);
      return {
        error: `${call.participant}: ${why}`,
        participantMs: 0,
        // A request never written: the participant provably did nothing.
        ...(!written.has(idempotencyKey) && { unreached: true }),
      };
    } finally {
      inFlight.delete(idempotencyKey);
      written.delete(idempotencyKey);
    }
  }

  /** Closes the kept-alive connections on shutdown. */
  close(): Promise<void> {
    return this.agent.close();
  }
}
