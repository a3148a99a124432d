/**
 * The reservation rules every inventory participant shares, apart from how they are stored.
 * A PENDING reservation is the saga's semantic lock on a unit: other sagas cannot take it,
 * and it is either confirmed after the pivot or released by a compensation.
 *
 * The inventory participants apply the same rules next to their rows, in the stored functions
 * of data-access/migrations (002_one_round_trip.sql, one round trip per call; 003 and 004
 * replace some of them), with the same codes and words; these functions are the rules for code that holds units in-process. A
 * confirmation has no rule here: only the participants confirm (003_lapsed_hold.sql), since the
 * monolith sells its units in the transaction that holds them.
 */
import { AppError, problems } from '@lab/shared/errors';

/**
 * A reservation id arrives once. A cancel that came first left a tombstone (the orchestrator
 * compensated a step whose answer it never saw), so the late reservation must not hold a unit
 * for a trip that is already being undone.
 */
export function refuseKnownReservation(existing: { tombstone: boolean } | undefined): void {
  if (existing?.tombstone)
    throw problems.conflict(
      'reservation-cancelled',
      'This reservation was cancelled before it arrived; a late reservation is refused.',
    );
  if (existing)
    throw problems.conflict('reservation-exists', 'A reservation with this id already exists.');
}

/** No unit could be taken: an inventory nobody created is bad input, a known one is sold out. */
export function refuseNoUnits(inventoryKnown: boolean): never {
  if (!inventoryKnown)
    throw new AppError('unknown-inventory', 422, 'There is no inventory with this id.');
  throw problems.conflict('sold-out', 'No units left for this inventory.');
}
