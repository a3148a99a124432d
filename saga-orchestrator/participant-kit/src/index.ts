/**
 * @lab/saga-participant-kit: the mechanics every saga participant shares, as a library each
 * participant's own service builds on. Reservations held under a semantic lock (PENDING with an
 * expiry), confirmed after the pivot or cancelled by a compensation, with tombstones for a
 * cancel that arrives first; the idempotency table; the participant's chaos targets; the
 * service skeleton its start.ts calls. The repositories work on the schema in the kit's
 * data-access/migrations (inventory, reservations, idempotency_keys), which flights, hotels and
 * cars each apply to their own database; payments migrates its own tables plus idempotency_keys.
 */
export { participantConfigSchema, type ParticipantConfig } from './config.ts';
export { runParticipant, type ParticipantOptions } from './participant-service.ts';
export {
  participantChaos,
  participantChaosTargets,
  type ParticipantChaos,
  type ParticipantChaosTarget,
} from './infrastructure/chaos.ts';
export { serverTiming } from './entry-points/api/server-timing.ts';
export { idempotentRoute } from './entry-points/api/idempotent-route.ts';
export { inventoryRoutes, reservationRoutes } from './entry-points/api/reservations.routes.ts';
export { inventoryReservations, type ReservationUseCases } from './domain/reservation-use-cases.ts';
export {
  idempotentCall,
  requestHash,
  type Keyed,
  type Outcome,
} from './data-access/idempotency.repository.ts';

/** The inventory schema the kit's repositories read: one definition, applied by each participant
 * to its own database, so the three can never drift apart. */
export const inventoryMigrationsDir = new URL('./data-access/migrations', import.meta.url).pathname;
