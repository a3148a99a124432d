import { Agent, request } from 'undici';
import { neverConnected } from '@lab/shared/errors';
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
        // A refused connection carried no request: the participant provably did nothing.
        ...(!signal.aborted && neverConnected(error) && { unreached: true }),
      };
    }
  }

  /** Closes the kept-alive connections on shutdown. */
  close(): Promise<void> {
    return this.agent.close();
  }
}
