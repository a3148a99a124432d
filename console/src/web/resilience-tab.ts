import { useState } from 'preact/hooks';
import { Chart } from './chart.ts';
import { breakAtGaps } from './gaps.ts';
import { clock, html, notRunning, post, seconds } from './html.ts';
import type { BreakerView, ResilienceState } from './state.ts';

const FAULTS = ['error', 'hang', 'reset', 'down'] as const;
/** What a module called in-process can do (the monolith refuses a reset connection or a down supplier). */
const IN_PROCESS_FAULTS = ['error', 'hang'] as const;
const ROUTE_OF: Record<string, string> = { prices: '/quotes', stock: '/availability' };

function Meter(props: { value: number; max: number; mark: number }) {
  const pct = (v: number) => `${Math.min(100, (v / Math.max(props.max, 1)) * 100)}%`;
  return html`<div class="meter">
    <span style=${{ width: pct(props.value) }}></span><i style=${{ left: pct(props.mark) }}></i>
  </div>`;
}

function Breaker({ breaker }: { breaker: BreakerView }) {
  const c = breaker.counts;
  const t = breaker.thresholds;
  const rate = c && c.fires > 0 ? Math.round((c.failures / c.fires) * 100) : 0;
  return html`<div
    class="card"
    data-testid=${`breaker-${breaker.name}`}
    data-state=${breaker.state}
  >
    <div>
      <strong>${breaker.name}</strong>
      <span class="muted">(${ROUTE_OF[breaker.name] ?? ''})</span> ${' '}<span
        class=${`badge state-${breaker.state}`}
        >${breaker.state}</span
      >
      ${' '}<span class="muted"
        >${breaker.inStateMs === null ? 'since the gateway started' : `for ${seconds(breaker.inStateMs)}`}</span
      >
    </div>
    <div class="decision" data-testid=${`decision-${breaker.name}`}>${breaker.decision}</div>
    ${
      c && t
        ? html`<div>
            calls in window ${c.fires} / volume ${t.volumeThreshold}
            <${Meter}
              value=${c.fires}
              max=${Math.max(c.fires, t.volumeThreshold * 2)}
              mark=${t.volumeThreshold}
            />
            failure rate ${rate}% / threshold ${t.errorThresholdPercentage}%
            <${Meter} value=${rate} max=${100} mark=${t.errorThresholdPercentage} />
            <span class="muted">
              ${`ok ${c.successes} · failures ${c.failures} · timeouts ${c.timeouts} · rejected ${c.rejects}`}
            </span>
          </div>`
        : null
    }
    <div>
      ${
        breaker.bulkhead
          ? `bulkhead: ${breaker.bulkhead.active} in use, ${breaker.bulkhead.queued} queued`
          : 'bulkhead: off'
      }
    </div>
    <details open=${breaker.transitions.length > 0}>
      <summary>transitions (last 10 min): ${breaker.transitions.length}</summary>
      <table>
        ${breaker.transitions.slice(0, 8).map(
          (tr) =>
            html`<tr>
              <td>${clock(tr.at)}</td>
              <td>${tr.from} → <strong>${tr.to}</strong></td>
              <td class="muted">${tr.reason}</td>
            </tr>`,
        )}
      </table>
    </details>
  </div>`;
}

export function ResilienceTab({ state }: { state: ResilienceState; traceUrl: string }) {
  const [error, setError] = useState<string | null>(null);
  if (!state.up) return notRunning('resilience', 'resilience');
  const act = (path: string, body?: unknown, method = 'POST') => {
    post(path, body, method).then(
      () => {
        setError(null);
      },
      (e: unknown) => {
        setError((e as Error).message);
      },
    );
  };
  const latency = state.latency ?? [];
  const on = state.traffic?.on === true;
  const active = Object.entries(state.faults ?? {})
    .filter(([, rule]) => rule)
    .map(
      ([target, rule]) => `${target}: ${Object.keys(rule?.faults ?? {}).join(', ') || 'latency'}`,
    );
  return html`<section>
      <h2>Traffic and faults</h2>
      <button
        class=${on ? '' : 'primary'}
        data-testid="traffic-toggle"
        onClick=${() => {
          act('/api/resilience/traffic', { perSecond: on ? 0 : 4 });
        }}
      >
        ${on ? 'Stop traffic' : 'Send traffic (4 requests/s to each route)'}
      </button>
      ${['prices', 'stock'].map(
        (target) =>
          html`<span>
            ${target}:
            ${(state.inProcess === true ? IN_PROCESS_FAULTS : FAULTS).map(
              (fault) =>
                html`<button
                  class="danger"
                  data-testid=${`fault-${target}-${fault}`}
                  onClick=${() => {
                    act('/api/resilience/faults', { target, fault });
                  }}
                >
                  ${fault}
                </button>`,
            )}
          </span>`,
      )}
      <button
        data-testid="faults-clear"
        onClick=${() => {
          act('/api/resilience/faults', undefined, 'DELETE');
        }}
      >
        Clear faults
      </button>
      ${
        state.supplierUp === false
          ? html`<div class="bad" data-testid="supplier-down">
              The supplier is not answering: the gateway's breakers, timeouts and fallbacks are all
              that stand between its callers and that outage.
            </div>`
          : null
      }
      <div class="muted">
        ${'Active supplier faults: '}<span data-testid="active-faults"
          >${
            state.supplierUp === false
              ? 'unknown (the supplier is down)'
              : active.length > 0
                ? active.join('; ')
                : 'none'
          }</span
        >${' · retry budget left: '}<span data-testid="retry-budget"
          >${state.retryBudgetTokens ?? 'off'}</span
        >${' tokens'}
      </div>
      ${error ? html`<div class="err" role="alert">${error}</div>` : null}
    </section>
    <section>
      <h2>Breakers</h2>
      <div class="row">
        ${(state.breakers ?? []).map((b) => html`<${Breaker} key=${b.name} breaker=${b} />`)}
      </div>
    </section>
    <section>
      <h2>Latency seen by callers (ms): /quotes (prices) next to /availability (stock)</h2>
      <${Chart}
        units=${['ms']}
        series=${[
          { label: '/quotes', stroke: '#1d4ed8' },
          { label: '/availability', stroke: '#059669' },
        ]}
        data=${breakAtGaps(
          [
            latency.map((s) => s.at / 1000),
            latency.map((s) => s.quotes),
            latency.map((s) => s.availability),
          ],
          // Four samples a second while traffic runs: a longer silence is traffic switched off.
          2,
        )}
      />
      ${on ? null : html`<p class="muted">Send traffic to draw the chart.</p>`}
    </section>`;
}
