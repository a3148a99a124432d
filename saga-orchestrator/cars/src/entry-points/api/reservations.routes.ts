import type { Express } from 'express';
import type { Pool } from '@lab/shared/pg';
import {
  inventoryRoutes,
  reservationRoutes,
  type ParticipantChaos,
  type ParticipantConfig,
} from '@lab/saga-participant-kit';
import { carReservations } from '../../domain/car-reservations.ts';

/**
 * The car steps of the saga: `POST /reservations` holds a car (the action),
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
    reservations: carReservations(deps.config.HOLD_TTL_MS),
  });
}

/** Lab administration (LAB_CHAOS=1 only): car inventory for tests and demos to fight over. */
export const adminRoutes = inventoryRoutes;
