/**
 * What an inventory participant does for the saga, as three use cases: hold units for a trip
 * (a PENDING reservation, the saga's semantic lock, which expires after the hold's TTL), sell
 * them after the payment pivot, release them when the saga compensates. Each runs at most once
 * per idempotency key (`keyed`), in one round trip to the participant's database.
 */
import type { Pool } from '@lab/shared/pg';
import type { Keyed, Outcome } from '../data-access/idempotency.repository.ts';
import * as reservations from '../data-access/reservation.repository.ts';

type Answer = Promise<Outcome & { replayed: boolean }>;

export interface ReservationUseCases {
  hold: (
    pool: Pool,
    keyed: Keyed,
    input: { reservationId: string; inventoryId: string; quantity: number },
  ) => Answer;
  sell: (pool: Pool, keyed: Keyed, reservationId: string) => Answer;
  release: (pool: Pool, keyed: Keyed, reservationId: string) => Answer;
}

/** The shared mechanics, with holds that last `holdTtlMs`. */
export function inventoryReservations(holdTtlMs: number): ReservationUseCases {
  return {
    hold: (pool, keyed, input) => reservations.reserve(pool, keyed, { ...input, ttlMs: holdTtlMs }),
    sell: (pool, keyed, id) => reservations.confirm(pool, keyed, id),
    release: (pool, keyed, id) => reservations.cancel(pool, keyed, id),
  };
}
