import type { Answer } from '../domain/saga-policy.ts';
import type { ParticipantCall } from '../domain/saga-definition.ts';

export interface ParticipantAnswer extends Answer {
  participantMs: number;
}

/** "app;dur=1.234" from the participant: its own handling time, for the overhead metric. */
function serverTime(header: string | null): number {
  const match = /app;dur=([\d.]+)/.exec(header ?? '');
  return match ? Number(match[1]) : 0;
}

/**
 * Calls a participant over HTTP (fetch is auto-instrumented, so the trace context travels in
 * the traceparent header). The AbortSignal really cancels the request: a hung participant
 * costs this saga `timeoutMs`, not a socket and a lease forever.
 */
export class ParticipantClient {
  private readonly urls: Record<string, string>;

  constructor(urls: Record<string, string>) {
    this.urls = urls;
  }

  async call(call: ParticipantCall, idempotencyKey: string, timeoutMs: number) {
    const base = this.urls[call.participant];
    if (!base) return { error: `no URL configured for ${call.participant}`, participantMs: 0 };
    try {
      const res = await fetch(`${base}${call.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(call.body ?? {}),
        signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
      });
      const text = await res.text();
      let code: string | undefined;
      if (!res.ok) {
        try {
          code = (JSON.parse(text) as { code?: string }).code;
        } catch {
          code = undefined;
        }
      }
      const answer: ParticipantAnswer = {
        status: res.status,
        participantMs: serverTime(res.headers.get('server-timing')),
        ...(code !== undefined && { code, error: `${res.status} ${code}` }),
        ...(code === undefined && !res.ok && { error: `HTTP ${res.status}` }),
      };
      return answer;
    } catch (error) {
      const why =
        error instanceof Error
          ? error.name === 'TimeoutError'
            ? 'timeout'
            : error.message
          : String(error);
      return { error: `${call.participant}: ${why}`, participantMs: 0 };
    }
  }
}
