/**
 * The flights participant's use cases: hold a seat for a trip (a PENDING reservation, the
 * saga's semantic lock, for HOLD_TTL_MS), sell it after the payment pivot, release it when the
 * saga compensates. Flights, hotels and cars follow the same rules, so the mechanics come from
 * the participant kit (the stored functions its data-access/ migrates); what is this
 * participant's own is how long its holds last.
 */
import { inventoryReservations, type ReservationUseCases } from '@lab/saga-participant-kit';

export function seatReservations(holdTtlMs: number): ReservationUseCases {
  return inventoryReservations(holdTtlMs);
}
