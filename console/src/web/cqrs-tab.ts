import { useState } from 'preact/hooks';
import { Chart } from './chart.ts';
import { html, notRunning, post, seconds, traceLink } from './html.ts';
import type { CqrsState } from './state.ts';

interface DeadLetter {
  source: string;
  summary: string;
  reason: string;
  failedAt: string;
}

interface OrderRead {
  orderId: string;
  traceId: string;
  placedMs: number;
  withoutToken: ReadOutcome;
  withToken: ReadOutcome;
}

/** One read of the placed order; `status` null when the read side gave no answer at all. */
type ReadOutcome = { status: number; ms: number } | { status: null; ms: null; error: string };

/** A read the query service never answered (it is down, or slow): the order is placed anyway. */
const noAnswer = (read: { error: string }) => `no answer: ${read.error}`;

function Stage(props: { name: string; up?: boolean | undefined; children?: unknown }) {
  return html`<div
    class=${`stage${props.up === false ? ' down' : ''}`}
    data-testid=${`stage-${props.name}`}
  >
    <div class="muted">${props.name}${props.up === false ? ' (down)' : ''}</div>
    ${props.children}
  </div>`;
}

/**
 * Places an order, then reads it without and with its consistency token. `explanation` says what
 * the first read may miss: in the split lab the projector may not have applied the order yet; in
 * the monolith the read is a join over the rows the command committed, so it never misses.
 */
function PlaceThenRead(props: {
  reads: OrderRead[];
  message: string | null;
  place: () => void;
  traceUrl: string;
  explanation: string;
}) {
  return html`<section>
    <h2>Place an order, then read it</h2>
    <button class="primary" data-testid="place-order" onClick=${props.place}>
      Place an order, then read it
    </button>
    <span class="muted">${props.explanation}</span>
    ${props.message ? html`<div class="err" role="alert">${props.message}</div>` : null}
    <table data-testid="place-then-read">
      <tr>
        <th>order</th>
        <th>placed</th>
        <th>read without token</th>
        <th>read with token</th>
        <th></th>
      </tr>
      ${props.reads.map(
        (r) =>
          html`<tr data-testid=${`order-read-${r.orderId}`}>
            <td><code>${r.orderId.slice(0, 8)}</code></td>
            <td>${r.placedMs} ms</td>
            <td data-testid="read-without-token" data-status=${r.withoutToken.status ?? 'none'}>
              ${
                r.withoutToken.status === null
                  ? noAnswer(r.withoutToken)
                  : r.withoutToken.status === 200
                    ? `found (${r.withoutToken.ms} ms)`
                    : `${r.withoutToken.status}: not there yet (${r.withoutToken.ms} ms)`
              }
            </td>
            <td data-testid="read-with-token" data-status=${r.withToken.status ?? 'none'}>
              ${
                r.withToken.status === null
                  ? noAnswer(r.withToken)
                  : r.withToken.status === 200
                    ? `found after waiting ${r.withToken.ms} ms`
                    : `${r.withToken.status} after waiting ${r.withToken.ms} ms`
              }
            </td>
            <td>${traceLink(props.traceUrl, r.traceId)}</td>
          </tr>`,
      )}
    </table>
  </section>`;
}

export function CqrsTab({ state, traceUrl }: { state: CqrsState; traceUrl: string }) {
  const [reads, setReads] = useState<OrderRead[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  // What the last replay did: news, not an error, so not in the alert line.
  const [replayed, setReplayed] = useState<number | null>(null);
  const [letters, setLetters] = useState<{ total: number; deadLetters: DeadLetter[] } | null>(null);
  if (!state.up) return notRunning('cqrs', 'CQRS');
  const s = state.services;
  const history = state.history ?? [];
  const place = () => {
    post('/api/cqrs/orders').then(
      (read) => {
        setMessage(null);
        setReads((list) => [read as OrderRead, ...list].slice(0, 8));
      },
      (e: unknown) => {
        setMessage((e as Error).message);
      },
    );
  };
  const listLetters = () => {
    // Through post(), which turns a problem document (the projector away: 503) into an error
    // for the message line, never into a list to draw.
    post('/api/cqrs/dead-letters', undefined, 'GET').then(
      (answer) => {
        setMessage(null);
        setLetters(answer as { total: number; deadLetters: DeadLetter[] });
      },
      (e: unknown) => {
        setLetters(null);
        setMessage((e as Error).message);
      },
    );
  };
  const replay = () => {
    post('/api/cqrs/dead-letters/replays').then(
      (answer) => {
        setMessage(null);
        setReplayed((answer as { replayed: number }).replayed);
        setLetters(null);
      },
      (e: unknown) => {
        setMessage((e as Error).message);
      },
    );
  };
  const placeThenRead = (explanation: string) =>
    html`<${PlaceThenRead}
      reads=${reads}
      message=${message}
      place=${place}
      traceUrl=${traceUrl}
      explanation=${explanation}
    />`;
  if (state.wiring === 'monolith')
    return html`<section data-testid="cqrs-monolith">
        <h2>The modular monolith</h2>
        <p>
          <code>pnpm lab cqrs up --monolith</code> answers on ${state.commandUrl}: commands and
          queries in one process over one database. There is no outbox, relay, Kafka, projector or
          Redis read model to watch, so there is no pipeline and no lag: each query joins the rows
          the commands committed.
        </p>
      </section>
      ${placeThenRead(
        'Both reads are joins over the rows the command committed: the first finds the order at once, and the token has nothing to wait for.',
      )}`;
  const arrow = html`<span class="arrow">→</span>`;
  return html`<section>
      <h2>Pipeline</h2>
      <div class="pipeline">
        <${Stage} name="command" up=${s?.command}><div>POST /orders</div><//>
        ${arrow}
        <${Stage} name="outbox" up=${s?.relay}>
          <div class="big" data-testid="pipeline-outbox-backlog">${state.backlog ?? '–'}</div>
          <div class="muted">unpublished · oldest ${seconds(state.oldestAgeMs)}</div>
        <//>
        ${arrow}
        <${Stage} name="relay" up=${s?.relay}
          ><div>published ${state.publishedSinceStart ?? '–'}</div><//
        >
        ${arrow}
        <${Stage} name="kafka"
          ><div>${state.topic ?? '–'}</div>
          <div class="muted">
            ${(state.partitions ?? []).map((p) => `p${p.partition}:${p.end}`).join(' ')}
          </div><//
        >
        ${arrow}
        <${Stage} name="projector" up=${s?.projector}>
          <div class="big" data-testid="pipeline-lag-events">${state.lagEvents ?? '–'}</div>
          <div class="muted">
            events behind · <span data-testid="pipeline-lag-ms">${seconds(state.lagMs)}</span>
          </div>
          <div class="muted">
            ${`checkpoint ${state.checkpoint ?? '–'} · dead letters `}
            <span data-testid="pipeline-dead-letters">${state.deadLetters ?? '–'}</span>
          </div>
        <//>
        ${arrow}
        <${Stage} name="redis → query" up=${s?.query}><div>GET /orders/:id</div><//>
      </div>
    </section>
    <section>
      <h2>Outbox backlog and consumer lag over time</h2>
      <${Chart}
        units=${['events', 'ms']}
        series=${[
          { label: 'outbox backlog', stroke: '#ef6c00' },
          { label: 'lag (events)', stroke: '#1d4ed8' },
          { label: 'lag (ms)', stroke: '#7c3aed', right: true },
        ]}
        data=${[
          history.map((h) => h.at / 1000),
          history.map((h) => h.backlog),
          history.map((h) => h.lagEvents),
          history.map((h) => h.lagMs),
        ]}
      />
    </section>
    ${placeThenRead(
      'The first read goes straight to the read model; the second carries the consistency token and waits until the projector has applied the order.',
    )}
    <section>
      <h2>Dead letters: ${state.deadLetters ?? '–'}</h2>
      <span class="muted"
        >Events the projector could not apply, parked so the partition keeps moving.</span
      >
      <div>
        <button data-testid="dead-letters-list" onClick=${listLetters}>List them</button>
        <button class="primary" data-testid="dead-letters-replay" onClick=${replay}>
          Replay to the event topic
        </button>
        ${
          replayed === null
            ? null
            : html`<span class="muted" data-testid="dead-letters-replayed"
                >replayed ${replayed} dead letter(s)</span
              >`
        }
      </div>
      ${
        letters
          ? html`<table data-testid="dead-letters">
              ${letters.deadLetters.map(
                (l) =>
                  html`<tr>
                    <td>${new Date(l.failedAt).toLocaleTimeString()}</td>
                    <td><code>${l.source}</code></td>
                    <td>${l.summary}</td>
                    <td class="muted">${l.reason}</td>
                  </tr>`,
              )}
            </table>`
          : null
      }
    </section>`;
}
