import type { Express } from 'express';
import { takesNothing } from '@lab/shared/http';
import type { GatewayConfig } from '../../config.ts';
import type { RetryBudget } from '../../domain/protections/retry-budget.ts';
import type { SupplierDependency } from '../../domain/supplier-dependency.ts';

interface Deps {
  /** Who answers: the gateway, or the in-process wiring that reuses its routes. */
  service: string;
  config: GatewayConfig;
  dependencies: SupplierDependency[];
  budget: RetryBudget;
  health: () => { eventLoopDelayMs: { p99Ms: number; maxMs: number }; rssBytes: number };
  /** The connection pool to the supplier; the in-process wiring has none. */
  pool?: () => unknown;
}

/** Local state only: these answer instantly even while every supplier call is stuck. */
export function statusRoutes(
  app: Express,
  { service, config, dependencies, budget, health, pool }: Deps,
) {
  app.get('/status', (req, res) => {
    takesNothing(req);
    res.json({
      service,
      // When this process began, in ms since the epoch (the clock of breaker transitions): a
      // watcher that sees it change knows the breakers' history restarted with the process.
      startedAt: Math.round(performance.timeOrigin),
      protections: [...config.PROTECTIONS],
      poolConnections: pool ? config.POOL_CONNECTIONS : null,
      pool: pool ? pool() : null,
      timeoutMs: config.PROTECTIONS.has('timeout') ? config.TIMEOUT_MS : null,
      retryBudgetTokens: config.PROTECTIONS.has('retry') ? budget.tokens : null,
      dependencies: Object.fromEntries(
        dependencies.map((d) => [
          d.name,
          {
            inFlight: d.inFlight(),
            bulkhead: d.bulkhead() ?? null,
            breaker: d.breaker?.state() ?? 'disabled',
            opens: d.breaker?.snapshot().opens ?? 0,
          },
        ]),
      ),
      ...health(),
    });
  });
  app.get('/breakers', (req, res) => {
    takesNothing(req);
    res.json(
      Object.fromEntries(
        dependencies.map((d) => [d.name, d.breaker?.snapshot() ?? { state: 'disabled' }]),
      ),
    );
  });
}
