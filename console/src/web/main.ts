import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { CqrsTab } from './cqrs-tab.ts';
import { html } from './html.ts';
import { ResilienceTab } from './resilience-tab.ts';
import { SagaTab } from './saga-tab.ts';
import type { ConsoleState } from './state.ts';

const TABS = [
  ['resilience', 'Resilience'],
  ['saga', 'Saga'],
  ['cqrs', 'CQRS'],
] as const;
type Tab = (typeof TABS)[number][0];

const tabOf = (hash: string): Tab => TABS.find(([id]) => `#${id}` === hash)?.[0] ?? 'resilience';

function App() {
  const [state, setState] = useState<ConsoleState | null>(null);
  const [connected, setConnected] = useState(false);
  const [tab, setTab] = useState<Tab>(tabOf(location.hash));
  useEffect(() => {
    // One stream for the whole page; EventSource reconnects by itself after a console restart.
    const events = new EventSource('/api/events');
    events.onmessage = (message: MessageEvent<string>) => {
      setState(JSON.parse(message.data) as ConsoleState);
      setConnected(true);
    };
    events.onerror = () => {
      setConnected(false);
    };
    const onHash = () => {
      setTab(tabOf(location.hash));
    };
    window.addEventListener('hashchange', onHash);
    return () => {
      events.close();
      window.removeEventListener('hashchange', onHash);
    };
  }, []);
  const body = !state
    ? html`<p class="muted">Connecting to the console…</p>`
    : tab === 'resilience'
      ? html`<${ResilienceTab} state=${state.resilience} traceUrl=${state.traceUrl} />`
      : tab === 'saga'
        ? html`<${SagaTab} state=${state.saga} traceUrl=${state.traceUrl} />`
        : html`<${CqrsTab} state=${state.cqrs} traceUrl=${state.traceUrl} />`;
  return html`<header>
      <h1>Lab console</h1>
      <nav>
        ${TABS.map(
          ([id, label]) =>
            html`<a href=${`#${id}`} class=${tab === id ? 'active' : ''} data-testid=${`tab-${id}`}
              >${label}</a
            >`,
        )}
      </nav>
      <span class="live" data-testid="live" data-connected=${String(connected)}>
        ${connected && state ? `live · ${new Date(state.at).toLocaleTimeString()}` : 'reconnecting…'}
      </span>
    </header>
    <main
      class=${state && !connected ? 'stale' : ''}
      data-stale=${String(Boolean(state) && !connected)}
    >
      ${
        state && !connected
          ? html`<p class="stale-note" role="status">
              The console is not answering: what follows is as it was at
              ${new Date(state.at).toLocaleTimeString()}, and nothing below is current.
            </p>`
          : null
      }
      ${body}
    </main>`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
