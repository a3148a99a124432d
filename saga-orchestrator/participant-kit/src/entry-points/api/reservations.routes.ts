import type { Express, Request } from 'express';
import { z } from 'zod';
import { parse, problems, takesNothing, text, uuid } from '@lab/shared/http';
import type { Pool } from '@lab/shared/pg';
import type { ParticipantChaos } from '../../infrastructure/chaos.ts';
import * as inventory from '../../data-access/reservation.repository.ts';
import type { ReservationUseCases } from '../../domain/reservation-use-cases.ts';
import { chaosGate } from '@lab/shared/chaos';
import { serverTiming } from './server-timing.ts';
import { idempotentRoute } from './idempotent-route.ts';

const ReservationId = text({ max: 200 });
const ReserveBody = z
  .object({
    reservationId: ReservationId,
    inventoryId: uuid(),
    quantity: z.number().int().min(1).max(100).default(1),
  })
  .strict();
const Params = z.object({ id: ReservationId });
/**
 * Confirm and cancel name their reservation in the path and take nothing else: a body or query
 * is refused before the key is recorded, not ignored while a sale or a tombstone is written.
 */
const reservationInPath = (req: Request) => {
  parse(req, 'params', Params);
  takesNothing(req);
};
const NewInventory = z.object({ capacity: z.number().int().min(0).max(1_000_000) }).strict();
const InventoryParams = z.object({ id: uuid() });

/**
 * The saga's calls to an inventory participant, each behind its chaos target and its
 * idempotency key: hold (the action), confirm after the pivot, cancel (the compensation).
 */
export function reservationRoutes(
  app: Express,
  deps: { pool: Pool; chaos: ParticipantChaos; reservations: ReservationUseCases },
): void {
  const { pool, chaos, reservations } = deps;
  app.post(
    '/reservations',
    serverTiming,
    ...idempotentRoute({
      validate: (req) => parse(req, 'body', ReserveBody),
      gate: chaosGate(chaos, 'action'),
      work: (keyed, req) => reservations.hold(pool, keyed, parse(req, 'body', ReserveBody)),
    }),
  );
  app.post(
    '/reservations/:id/confirm',
    serverTiming,
    ...idempotentRoute({
      validate: reservationInPath,
      gate: chaosGate(chaos, 'confirmation'),
      work: (keyed, req) => reservations.sell(pool, keyed, parse(req, 'params', Params).id),
    }),
  );
  app.post(
    '/reservations/:id/cancel',
    serverTiming,
    ...idempotentRoute({
      validate: reservationInPath,
      gate: chaosGate(chaos, 'compensation'),
      work: (keyed, req) => reservations.release(pool, keyed, parse(req, 'params', Params).id),
    }),
  );
  app.get('/reservations/:id', async (req, res) => {
    const { id } = parse(req, 'params', Params);
    takesNothing(req);
    const { rows } = await pool.query(
      `SELECT id, inventory_id AS "inventoryId", status, quantity, tombstone,
              expires_at AS "expiresAt" FROM reservations WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw problems.notFound('The reservation');
    res.json(rows[0]);
  });
}

/** Lab administration (LAB_CHAOS=1 only): tests and demos create inventory to fight over. */
export function inventoryRoutes(app: Express, pool: Pool): void {
  app.post('/inventory', async (req, res) => {
    const { capacity } = parse(req, 'body', NewInventory);
    const id = await inventory.createInventory(pool, capacity);
    res.status(201).location(`/inventory/${id}`).json({ id });
  });
  app.get('/inventory/:id', async (req, res) => {
    const { id } = parse(req, 'params', InventoryParams, 404);
    takesNothing(req);
    const counts = await inventory.readInventory(pool, id);
    if (!counts) throw problems.notFound('The inventory');
    res.json(counts);
  });
}
