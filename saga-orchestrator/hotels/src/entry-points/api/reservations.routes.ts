import type { Express } from 'express';
import type { Pool } from '@lab/shared/pg';
import {
  inventoryRoutes,
  reservationRoutes,
  type ParticipantChaos,
  type ParticipantConfig,
} from '@lab/saga-participant-kit';

/**
 * The hotel steps of the saga: `POST /reservations` holds a room (the action),
 * `/reservations/:id/confirm` sells it after the pivot, `/reservations/:id/cancel` releases it
 * (the compensation). The handlers are the participant kit's, shared with the other inventory
 * participants; a hold lasts HOLD_TTL_MS.
 */
export function routes(
  app: Express,
  deps: { pool: Pool; chaos: ParticipantChaos; config: ParticipantConfig },
): void {
  reservationRoutes(app, {
    pool: deps.pool,
    chaos: deps.chaos,
    holdTtlMs: deps.config.HOLD_TTL_MS,
  });
}

/** Lab administration (LAB_CHAOS=1 only): room inventory for tests and demos to fight over. */
export const adminRoutes = inventoryRoutes;
