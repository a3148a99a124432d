/**
 * The payments module: the card limits and charges of the payments participant, in the
 * `payments` schema. Other modules reach it only through this port, on their transaction.
 */
import type { Express } from 'express';
import type { Pool, PoolClient } from '@lab/shared/pg';
import { asModule } from '../../infrastructure/module-scope.ts';
import { capture } from './data-access/charges.repository.ts';
import { paymentsRoutes } from './entry-points/api/payments.routes.ts';

export interface PaymentsModule {
  capture: (
    tx: PoolClient,
    input: { chargeId: string; cardToken: string; amountCents: number },
  ) => Promise<void>;
  adminRoutes: (app: Express, pool: Pool) => void;
}

export function paymentsModule(): PaymentsModule {
  return {
    capture: (tx, input) => asModule(tx, 'payments', (scoped) => capture(scoped, input)),
    adminRoutes: paymentsRoutes,
  };
}
