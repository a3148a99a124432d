import { useState } from 'preact/hooks';
import { clock, html, notRunning, post, traceLink } from './html.ts';
import type { SagaState, StepView, TripView } from './state.ts';

const PARTICIPANTS = ['flights', 'hotels', 'cars', 'payments'] as const;

/**
 * A participant's fault buttons and the chaos rule each sends. Payments has no confirmation:
 * the charge is the pivot itself, so nothing after it can be refused.
 */
const FAULT_BUTTONS = [
  { id: 'reject', label: 'refuse (409)', rule: { fault: 'reject' } },
  { id: 'error', label: 'fail (5xx)', rule: { fault: 'error' } },
  { id: 'hang', label: 'hang', rule: { fault: 'hang' } },
  {
    id: 'compensation',
    label: 'fail its compensations',
    rule: { target: 'compensation', fault: 'error' },
  },
  {
    id: 'confirmation',
    label: 'refuse its confirmation (after the pivot)',
    rule: { target: 'confirmation', fault: 'reject' },
  },
] as const;

function Step(props: { name: string; pivot: boolean; step: StepView | undefined }) {
  const { step } = props;
  const state = step?.state ?? 'not-reached';
  return html`<div
    class=${`step${props.pivot ? ' pivot' : ''}`}
    data-testid=${`step-${props.name}`}
    data-state=${state}
  >
    <div>
      <strong>${props.name}</strong>${props.pivot ? html` <span class="muted">pivot</span>` : null}
    </div>
    <span class=${`badge s-${state}`}>${step ? state : 'not reached'}</span>
    ${step ? html` <span class="muted">${step.attempts} attempt${step.attempts === 1 ? '' : 's'}</span>` : null}
    ${step?.lastError ? html`<div class="err">${step.lastError}</div>` : null}
  </div>`;
}

/** What every trip card starts with, in either wiring: its id, status, time and trace. */
const tripHeading = (trip: TripView, traceUrl: string) =>
  html`<code>${trip.tripId.slice(0, 8)}</code>
    <span class=${`badge status-${trip.status}`}>${trip.status}</span> ${' '}<span class="muted"
      >${clock(trip.createdAt)}</span
    >
    ${' '}${traceLink(traceUrl, trip.traceId)}`;

const whyItFailed = (trip: TripView) =>
  trip.failureReason ? html`<div class="muted">why: ${trip.failureReason}</div>` : null;

function Trip(props: {
  trip: TripView;
  state: SagaState;
  traceUrl: string;
  act: (path: string) => void;
}) {
  const { trip } = props;
  const steps = props.state.definition?.steps ?? [];
  const actions = new Map(trip.timeline.filter((s) => s.kind === 'action').map((s) => [s.name, s]));
  // Newest first: the last compensation that ran is the first a reader sees.
  const compensations = trip.timeline
    .filter((s) => s.kind === 'compensation')
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  return html`<div class="card" data-testid=${`trip-${trip.tripId}`} data-status=${trip.status}>
    <div>
      ${tripHeading(trip, props.traceUrl)}
      ${
        trip.status === 'COMPENSATION_STUCK'
          ? html` <button
              class="primary"
              data-testid=${`retry-${trip.tripId}`}
              onClick=${() => {
                props.act(`/api/saga/trips/${trip.tripId}/retry-compensation`);
              }}
            >
              Retry the compensation
            </button>`
          : null
      }
      ${
        // After the pivot only an operator may turn a paid trip back.
        trip.status === 'CONFIRMATION_STUCK'
          ? html` <button
              class="primary"
              data-testid=${`compensate-${trip.tripId}`}
              onClick=${() => {
                props.act(`/api/saga/trips/${trip.tripId}/compensate`);
              }}
            >
              Refund and release the holds
            </button>`
          : null
      }
    </div>
    ${whyItFailed(trip)}
    <div class="timeline" data-testid="forward-steps">
      ${steps.map((s) => html`<${Step} name=${s.name} pivot=${s.kind === 'pivot'} step=${actions.get(s.name)} />`)}
    </div>
    ${
      compensations.length > 0
        ? html`<div class="timeline" data-testid="compensations">
            <span class="muted">compensations, newest first:</span>
            ${compensations.map(
              (c) =>
                html`<div
                  class="step"
                  data-testid=${`compensation-${c.name}`}
                  data-started-at=${c.startedAt}
                  data-state=${c.state}
                >
                  <div><strong>${c.name}</strong></div>
                  <span class=${`badge s-${c.state}`}>${c.state}</span>
                  <span class="muted"> ${c.attempts} attempt${c.attempts === 1 ? '' : 's'}</span>
                  ${c.lastError ? html`<div class="err">${c.lastError}</div>` : null}
                </div>`,
            )}
          </div>`
        : null
    }
  </div>`;
}

/** The recent trips, newest first, each drawn as `card` draws it for the wiring. */
const recentTrips = (trips: TripView[], card: (trip: TripView) => unknown) =>
  html`<section>
    <h2>Recent trips (newest first)</h2>
    ${trips.length === 0 ? html`<p class="muted">No trips yet: book one.</p>` : null}
    <div class="row">${trips.map(card)}</div>
  </section>`;

/** A trip of the monolith: one transaction, so its status and why, and no timeline of steps. */
function MonolithTrip(props: { trip: TripView; traceUrl: string }) {
  const { trip } = props;
  return html`<div class="card" data-testid=${`trip-${trip.tripId}`} data-status=${trip.status}>
    <div>${tripHeading(trip, props.traceUrl)}</div>
    ${whyItFailed(trip)}
  </div>`;
}

export function SagaTab({ state, traceUrl }: { state: SagaState; traceUrl: string }) {
  const [message, setMessage] = useState<string | null>(null);
  if (!state.up) return notRunning('saga', 'saga');
  const act = (path: string, body?: unknown, method = 'POST') => {
    post(path, body, method).then(
      () => {
        setMessage(null);
      },
      (e: unknown) => {
        setMessage((e as Error).message);
      },
    );
  };
  const bookButtons = html`<button
      class="primary"
      data-testid="book-trip"
      onClick=${() => {
        act('/api/saga/trips', {});
      }}
    >
      Book a trip
    </button>
    ${PARTICIPANTS.filter((p) => p !== 'payments').map(
      (p) =>
        html`<button
          data-testid=${`book-trip-sold-out-${p}`}
          onClick=${() => {
            act('/api/saga/trips', { soldOut: p });
          }}
        >
          Book with ${p} sold out
        </button>`,
    )}`;
  const alert = message ? html`<div class="err" role="alert">${message}</div>` : null;
  if (state.wiring === 'monolith')
    return html`<section data-testid="saga-monolith">
        <h2>Book (the modular monolith)</h2>
        <p class="muted">
          <code>pnpm lab saga up --monolith</code> answers here: one process, one database, and each
          trip one ACID transaction. It keeps no saga log, so there is no timeline to draw: a trip's
          sales and charge commit together (<code>COMPLETED</code>) or none of them does
          (<code>COMPENSATED</code>, with the step that refused it), and the answer to its POST
          already says which. Its modules meet in one process, so there is no network between them
          to break. Run <code>pnpm lab saga up</code> instead to watch the saga.
        </p>
        ${bookButtons} ${alert}
      </section>
      ${recentTrips(
        state.trips ?? [],
        (trip) => html`<${MonolithTrip} key=${trip.tripId} trip=${trip} traceUrl=${traceUrl} />`,
      )}`;
  const faultsOf = (p: string) =>
    Object.entries(state.faults?.[p] ?? {})
      .filter(([, rule]) => rule)
      .map(([target, rule]) => `${target}: ${Object.keys(rule?.faults ?? {}).join(', ')}`)
      .join('; ');
  return html`<section>
      <h2>Book and break</h2>
      ${bookButtons}
      <table>
        ${PARTICIPANTS.map(
          (p) =>
            html`<tr>
              <td>${p}</td>
              <td>
                ${FAULT_BUTTONS.filter((b) => p !== 'payments' || b.id !== 'confirmation').map(
                  (b) =>
                    html`<button
                      class="danger"
                      data-testid=${`fault-${p}-${b.id}`}
                      onClick=${() => {
                        act('/api/saga/faults', { participant: p, ...b.rule });
                      }}
                    >
                      ${b.label}
                    </button>`,
                )}
              </td>
              ${
                state.faults?.[p] === null
                  ? html`<td class="bad" data-testid=${`participant-${p}-down`}>
                      not answering: its trips wait and retry until it is back
                    </td>`
                  : html`<td class="muted">${faultsOf(p) || 'no faults'}</td>`
              }
            </tr>`,
        )}
      </table>
      <button
        data-testid="faults-clear"
        onClick=${() => {
          act('/api/saga/faults', undefined, 'DELETE');
        }}
      >
        Clear all faults
      </button>
      ${alert}
    </section>
    ${recentTrips(
      state.trips ?? [],
      (trip) =>
        html`<${Trip}
          key=${trip.tripId}
          trip=${trip}
          state=${state}
          traceUrl=${traceUrl}
          act=${(path: string) => {
            act(path);
          }}
        />`,
    )}`;
}
