import { Agent, request } from 'undici';

export type LoadRoute = 'quotes' | 'availability';

export interface LoadSample {
  id: string;
  route: LoadRoute;
  /** When the open model said this request must start (ms since epoch). */
  scheduledAt: number;
  /** When it really started: a gap to scheduledAt means the generator itself was starved. */
  firedAt: number;
  endedAt: number;
  /** Measured from the scheduled start, so a stalled generator cannot hide latency. */
  latencyMs: number;
  status: number;
  outcome: 'ok' | 'http-error' | 'client-timeout' | 'error' | 'dropped';
  source?: string;
  /** The problem+json code of a failed answer, e.g. breaker-open. */
  code?: string;
  /** When the client stopped waiting (its own timeout): later supplier work is zombie work. */
  gaveUpAt?: number;
}

export interface LoadOptions {
  baseUrl: string;
  ratePerSecond: Record<LoadRoute, number>;
  durationMs: number;
  clientTimeoutMs: number;
  /** Safety bound: beyond this many open requests new ones are dropped and counted as failures. */
  maxInFlight: number;
  skus: number;
  idPrefix: string;
}

/**
 * An open-model load generator: requests start on a fixed schedule whatever happens to the
 * earlier ones, as independent users do. A closed model (N clients in a loop) slows down with
 * the system it measures, and so hides exactly the queueing collapse the experiments show.
 */
export function startLoad(options: LoadOptions) {
  const agent = new Agent({ connections: options.maxInFlight, keepAliveTimeout: 10_000 });
  const samples: LoadSample[] = [];
  const startedAt = Date.now();
  let inFlight = 0;
  const counters: Record<LoadRoute, number> = { quotes: 0, availability: 0 };
  const pending = new Set<Promise<void>>();

  async function fire(route: LoadRoute, index: number, scheduledAt: number): Promise<void> {
    const id = `${options.idPrefix}-${route[0] ?? 'x'}-${index}`;
    const sku = `sku-${index % options.skus}`;
    const firedAt = Date.now();
    const done = (
      fields: Omit<
        LoadSample,
        'id' | 'route' | 'scheduledAt' | 'firedAt' | 'endedAt' | 'latencyMs'
      >,
    ) => {
      const endedAt = Date.now();
      samples.push({
        id,
        route,
        scheduledAt,
        firedAt,
        endedAt,
        latencyMs: endedAt - scheduledAt,
        ...fields,
      });
    };
    if (inFlight >= options.maxInFlight) {
      done({ status: 0, outcome: 'dropped' });
      return;
    }
    inFlight += 1;
    const controller = new AbortController();
    let gaveUpAt: number | undefined;
    const timer = setTimeout(() => {
      gaveUpAt = Date.now();
      controller.abort();
    }, options.clientTimeoutMs);
    try {
      const res = await request(`${options.baseUrl}/${route}/${sku}`, {
        dispatcher: agent,
        signal: controller.signal,
        headers: { 'x-request-id': id },
      });
      const body = (await res.body.json().catch(() => ({}))) as { source?: string; code?: string };
      done({
        status: res.statusCode,
        outcome: res.statusCode === 200 ? 'ok' : 'http-error',
        ...(body.source && { source: body.source }),
        ...(body.code && { code: body.code }),
      });
    } catch {
      done(
        gaveUpAt === undefined
          ? { status: 0, outcome: 'error' }
          : { status: 0, outcome: 'client-timeout', gaveUpAt },
      );
    } finally {
      clearTimeout(timer);
      inFlight -= 1;
    }
  }

  const tick = setInterval(() => {
    const now = Date.now();
    const elapsed = Math.min(now - startedAt, options.durationMs);
    for (const route of ['quotes', 'availability'] as const) {
      const due = Math.floor((elapsed / 1000) * options.ratePerSecond[route]);
      while (counters[route] < due) {
        const index = counters[route]++;
        const scheduledAt = startedAt + (index / options.ratePerSecond[route]) * 1000;
        const call = fire(route, index, scheduledAt);
        pending.add(call);
        void call.finally(() => pending.delete(call));
      }
    }
    if (now - startedAt >= options.durationMs) clearInterval(tick);
  }, 5);

  return {
    startedAt,
    samples,
    inFlight: () => inFlight,
    /** Resolves once the schedule is over and every request has ended (bounded by the client timeout). */
    finished: async () => {
      while (Date.now() - startedAt < options.durationMs) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      clearInterval(tick);
      await Promise.all([...pending]);
      await agent.close();
      return samples;
    },
  };
}
