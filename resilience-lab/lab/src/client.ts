/** Typed access to the supplier's chaos controls and call ledger (LAB_CHAOS=1 only). */
import type { ChaosRule } from '@lab/shared/chaos';

export type Route = 'prices' | 'stock';

/** The body of POST /_chaos, the same on every lab service (see @lab/shared/chaos). */
export type ChaosBody = ChaosRule<Route, 'error' | 'hang' | 'reset' | 'down'>;

export interface SupplierCall {
  id: number;
  route: Route;
  sku: string;
  requestId?: string;
  attempt?: number;
  fault: 'none' | 'error' | 'hang' | 'reset' | 'down';
  latencyMs: number;
  startedAt: number;
  endedAt?: number;
  outcome?: string;
}

export interface RouteCounters {
  started: number;
  inFlight: number;
  completed: number;
  abortedByClient: number;
  faults: Record<string, number>;
}

export function supplierAdmin(url: string) {
  return {
    async chaos(body: ChaosBody): Promise<void> {
      const res = await fetch(`${url}/_chaos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`POST /_chaos ${res.status}: ${await res.text()}`);
    },
    async clear(route: Route): Promise<void> {
      const res = await fetch(`${url}/_chaos?target=${route}`, { method: 'DELETE' });
      if (res.status !== 200) throw new Error(`DELETE /_chaos ${res.status}: ${await res.text()}`);
    },
    async counters(): Promise<Record<Route, RouteCounters>> {
      const res = await fetch(`${url}/_chaos`);
      return ((await res.json()) as { calls: Record<Route, RouteCounters> }).calls;
    },
    async calls(since = 0, route?: Route): Promise<SupplierCall[]> {
      const query = new URLSearchParams({ since: String(since), ...(route && { route }) });
      const res = await fetch(`${url}/_chaos/calls?${query.toString()}`);
      return ((await res.json()) as { calls: SupplierCall[] }).calls;
    },
  };
}

export type SupplierAdmin = ReturnType<typeof supplierAdmin>;

/** One breaker as the gateway's GET /breakers shows it (`state: 'disabled'` without one). */
export interface BreakerView {
  state: string;
  transitions: { from: string; to: string; reason: string }[];
}

/** The gateway's breaker for one supplier route, read from GET /breakers. */
export async function breakerOf(gatewayUrl: string, route: Route): Promise<BreakerView> {
  const res = await fetch(`${gatewayUrl}/breakers`);
  return ((await res.json()) as Record<Route, BreakerView>)[route];
}
