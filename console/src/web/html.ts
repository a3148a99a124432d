import { h } from 'preact';
import htm from 'htm';

/** JSX-like templates without a compiler: htm turns tagged templates into Preact calls. */
export const html = htm.bind(h);

/** One call to the console's API; an answer that is not 2xx (a problem document) is thrown as its detail. */
export async function post(path: string, body?: unknown, method = 'POST'): Promise<unknown> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  // An answer that is not JSON (a proxy's HTML error page, an empty body) still says its status.
  const answer: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const detail = (answer as { detail?: string } | undefined)?.detail ?? `status ${res.status}`;
    throw new Error(detail);
  }
  return answer;
}

export const traceLink = (template: string, traceId: string | null | undefined) =>
  traceId
    ? html`<a href=${template.replace('{traceId}', traceId)} target="_blank" rel="noopener"
        >trace ${traceId.slice(0, 8)}</a
      >`
    : null;

export const seconds = (ms: number | null | undefined) =>
  ms == null ? '–' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;

export const clock = (at: number | string) => new Date(at).toLocaleTimeString();

export function notRunning(lab: string, what: string) {
  return html`<section class="down-hint" data-testid=${`lab-down-${lab}`}>
    <p>The ${what} lab is not answering (or not on the address this console was given).</p>
    <p>
      Start it in a terminal: <code>pnpm lab ${lab} up</code>. If it is already running, one of its
      services has stopped: its terminal says which, and how to start it again.
    </p>
  </section>`;
}
