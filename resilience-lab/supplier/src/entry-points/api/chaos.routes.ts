import type { Express } from 'express';
import { z } from 'zod';
import { chaosRoutes } from '@lab/shared/chaos';
import { parse, wholeNumber } from '@lab/shared/http';
import type { Logger } from '@lab/shared/logging';
import type { CallLedger } from '../../infrastructure/call-ledger.ts';
import { ROUTES, type SupplierChaos } from '../../infrastructure/chaos.ts';

interface Deps {
  chaos: SupplierChaos;
  ledger: CallLedger;
  logger: Logger;
  /** LAB_CHAOS: without it none of these routes exist. */
  enabled: boolean;
}

// Strict: a misspelt or array key (`route[]=stock`) is refused, not dropped with its filter.
const callsQuery = z
  .object({
    since: wholeNumber({ min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 }),
    route: z.enum(ROUTES).optional(),
  })
  .strict();

/**
 * The shared /_chaos API (POST a rule, DELETE, GET the rules with the call counters), plus
 * GET /_chaos/calls: the supplier's record of every call it served, which the lab's tests and
 * experiments read to see what the gateway really sent.
 */
export function supplierChaosRoutes(app: Express, { chaos, ledger, logger, enabled }: Deps): void {
  chaosRoutes(app, chaos, { enabled, logger, report: () => ({ calls: ledger.counters }) });
  if (!enabled) return;
  app.get('/_chaos/calls', (req, res) => {
    const { since, route } = parse(req, 'query', callsQuery);
    res.json({ calls: ledger.since(since, route) });
  });
}
