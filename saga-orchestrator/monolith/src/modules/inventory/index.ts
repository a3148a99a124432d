/**
 * The inventory module, run three times: flights, hotels and cars, each in its own schema and
 * role. What other modules may use is this file: a port that sells units inside the caller's
 * transaction, and the module's admin routes. The rest of the folder is the module's own.
 */
import type { Express } from 'express';
import type { Pool, PoolClient } from '@lab/shared/pg';
import { asModule } from '../../infrastructure/module-scope.ts';
import { sell } from './data-access/inventory.repository.ts';
import { inventoryRoutes } from './entry-points/api/inventory.routes.ts';

export interface InventoryModule {
  /** Sells `quantity` units to the trip `reservationId` on the caller's transaction. */
  sell: (
    tx: PoolClient,
    input: { reservationId: string; inventoryId: string; quantity: number },
  ) => Promise<void>;
  adminRoutes: (app: Express, pool: Pool) => void;
}

export function inventoryModule(name: 'flights' | 'hotels' | 'cars'): InventoryModule {
  return {
    sell: (tx, input) => asModule(tx, name, (scoped) => sell(scoped, input)),
    adminRoutes: (app, pool) => {
      inventoryRoutes(app, pool, name);
    },
  };
}
