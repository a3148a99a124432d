import type { Express } from 'express';
import { z } from 'zod';
import { parse } from '@lab/shared/http';
import type { Logger } from '@lab/shared/logging';
import type { CallLedger } from '../../infrastructure/call-ledger.ts';
import { ROUTES, chaosSettingsSchema, type ChaosController } from '../../infrastructure/chaos.ts';

interface Deps {
  chaos: ChaosController;
  ledger: CallLedger;
  logger: Logger;
}

const callsQuery = z.object({
  since: z.coerce.number().int().min(0).default(0),
  route: z.enum(ROUTES).optional(),
});

/** Fault injection, mounted only with LAB_CHAOS=1. A body with only `route` clears that route. */
export function chaosRoutes(app: Express, { chaos, ledger, logger }: Deps): void {
  app.post('/_chaos', (req, res) => {
    const settings = chaos.set(parse(req, 'body', chaosSettingsSchema));
    logger.warn({ chaos: settings }, 'chaos: settings changed');
    res.json(settings);
  });
  app.get('/_chaos', (_req, res) => {
    res.json({
      routes: Object.fromEntries(ROUTES.map((route) => [route, chaos.settingsOf(route)])),
      calls: ledger.counters,
    });
  });
  app.get('/_chaos/calls', (req, res) => {
    const { since, route } = parse(req, 'query', callsQuery);
    res.json({ calls: ledger.since(since, route) });
  });
}
