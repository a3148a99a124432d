import { setTimeout as sleep } from 'node:timers/promises';
import type { SupplierAnswer, SupplierClient } from '@lab/resilience-gateway/module';
import { isUnknownSku, priceOf, stockOf } from '@lab/resilience-supplier/module';
import { Chaos } from '@lab/shared/chaos';

/**
 * The faults a module called in-process can suffer. `error`: the module throws (a bug).
 * `hang`: it awaits something that never comes (a lock, a promise nobody settles) until the
 * caller gives up. Latency: a slow computation, which holds the process's only thread. A
 * `reset` connection and a supplier that is `down` while its caller is up need a socket and a
 * second process: POST /_chaos refuses them here with 400.
 */
export const IN_PROCESS_FAULTS = ['error', 'hang'] as const;
export const createModuleChaos = (hangMaxMs: number) =>
  new Chaos({ targets: ['prices', 'stock'], faults: IN_PROCESS_FAULTS, hangMaxMs });
export type ModuleChaos = ReturnType<typeof createModuleChaos>;

/**
 * How the module does `ms` of work for one call. As shipped: CPU work in one piece, not a
 * timer, so nothing else in the process runs until it is done, the caller's timeout included
 * (its signal is ignored). A seam (see seams.ts): exercise 06 makes it cooperative.
 */
export type Compute = (ms: number, signal: AbortSignal) => Promise<void>;

export const compute: Compute = (ms) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
  return Promise.resolve();
};

const answer = (status: number, body: unknown, retryAfterMs?: number): SupplierAnswer => ({
  status,
  body,
  retryAfterMs,
});

/**
 * The gateway's SupplierClient as a function call into the supplier's catalog module. The
 * gateway's protections stay wrapped around it unchanged, so whatever they still do here is
 * what they do without a network: an exception is mapped to the 5xx an HTTP server would have
 * sent, so the retry policy and the breaker classify it the same way in both wirings.
 */
export function inProcessSupplier(chaos: ModuleChaos, work: Compute = compute): SupplierClient {
  async function get(path: string, { signal }: { signal: AbortSignal }): Promise<SupplierAnswer> {
    const [, route, encoded = ''] = path.split('/');
    if (route !== 'prices' && route !== 'stock') return answer(404, { code: 'route-not-found' });
    const sku = decodeURIComponent(encoded);
    const decision = chaos.decide(route);
    if (decision.latencyMs > 0) await work(decision.latencyMs, signal);
    if (decision.fault === 'hang') {
      // Cooperative: the wait ends when the caller's signal aborts, as the timeout makes it.
      await sleep(chaos.hangMaxMs, undefined, { signal });
      return answer(504, { code: 'hang-expired' });
    }
    try {
      if (decision.fault === 'error') throw new Error(`Injected ${route} error (chaos).`);
      if (isUnknownSku(sku)) return answer(404, { code: 'not-found' });
      const body = route === 'prices' ? priceOf(sku) : stockOf(sku);
      return answer(200, { ...body, servedAt: new Date().toISOString() });
    } catch (error) {
      const retryAfterS = decision.retryAfterS;
      return answer(
        decision.fault === 'error' ? decision.status : 500,
        { code: 'module-threw', detail: (error as Error).message },
        retryAfterS === undefined ? undefined : retryAfterS * 1000,
      );
    }
  }

  return { get, close: () => Promise.resolve() };
}
