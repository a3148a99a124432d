import type { Express } from 'express';
import { z } from 'zod';
import { parse, problems, takesNothing, text, uuid } from '@lab/shared/http';
import type { Pool } from '@lab/shared/pg';
import { inModuleTransaction } from '../../../../infrastructure/module-scope.ts';
import * as inventory from '../../data-access/inventory.repository.ts';

const NewInventory = z.object({ capacity: z.number().int().min(0).max(1_000_000) }).strict();
const InventoryParams = z.object({ id: uuid() });
const ReservationParams = z.object({ id: text({ max: 200 }) });

/**
 * Lab administration (LAB_CHAOS=1 only) under the module's name: the participant's
 * `/inventory` becomes `/flights/inventory`, so the lab's tests set up both wirings alike.
 */
export function inventoryRoutes(
  app: Express,
  pool: Pool,
  module: 'flights' | 'hotels' | 'cars',
): void {
  app.post(`/${module}/inventory`, async (req, res) => {
    const { capacity } = parse(req, 'body', NewInventory);
    const id = await inModuleTransaction(pool, module, (tx) =>
      inventory.createInventory(tx, capacity),
    );
    res.status(201).location(`/${module}/inventory/${id}`).json({ id });
  });
  app.get(`/${module}/inventory/:id`, async (req, res) => {
    const { id } = parse(req, 'params', InventoryParams, 404);
    takesNothing(req);
    const counts = await inModuleTransaction(pool, module, (tx) => inventory.readInventory(tx, id));
    if (!counts) throw problems.notFound('The inventory');
    res.json(counts);
  });
  app.get(`/${module}/reservations/:id`, async (req, res) => {
    const { id } = parse(req, 'params', ReservationParams);
    takesNothing(req);
    const found = await inModuleTransaction(pool, module, (tx) =>
      inventory.readReservation(tx, id),
    );
    if (!found) throw problems.notFound('The reservation');
    res.json(found);
  });
}
