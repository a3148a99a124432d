import type { Express } from 'express';
import type { Pool } from '@lab/shared/pg';
import {
  inventoryRoutes,
  reservationRoutes,
  type ParticipantChaos,
  type ParticipantConfig,
} from '@lab/saga-participant-kit';
import { seatReservations } from '../../domain/seat-reservations.ts';

/**
 * The flight steps of the saga: `POST /reservations` holds a seat (the action),
 * `/reservations/:id/confirm` sells it after the pivot, `/reservations/:id/cancel` releases it
 * (the compensation). The routes are the participant kit's, shared with the other inventory
 * participants; the use cases behind them are this participant's domain.
 */
export function routes(
  app: Express,
  deps: { pool: Pool; chaos: ParticipantChaos; config: ParticipantConfig },
): void {
  reservationRoutes(app, {
    pool: deps.pool,
    chaos: deps.chaos,
    reservations: seatReservations(deps.config.HOLD_TTL_MS),
  });
}

/** Lab administration (LAB_CHAOS=1 only): seat inventory for tests and demos to fight over. */
export const adminRoutes = inventoryRoutes;
