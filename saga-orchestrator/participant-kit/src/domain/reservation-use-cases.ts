/**
 * What an inventory participant does for the saga, as three use cases: hold units for a trip
 * (a PENDING reservation, the saga's semantic lock, which expires after the hold's TTL), sell
 * them after the payment pivot, release them when the saga compensates. Each runs inside the
 * transaction of its idempotency key, so it receives that transaction's client.
 */
import type { PoolClient } from '@lab/shared/pg';
import type { Outcome } from '../data-access/idempotency.repository.ts';
import * as reservations from '../data-access/reservation.repository.ts';

export interface ReservationUseCases {
  hold: (
    tx: PoolClient,
    input: { reservationId: string; inventoryId: string; quantity: number },
  ) => Promise<Outcome>;
  sell: (tx: PoolClient, reservationId: string) => Promise<Outcome>;
  release: (tx: PoolClient, reservationId: string) => Promise<Outcome>;
}

/** The shared mechanics, with holds that last `holdTtlMs`. */
export function inventoryReservations(holdTtlMs: number): ReservationUseCases {
  return {
    hold: (tx, input) => reservations.reserve(tx, { ...input, ttlMs: holdTtlMs }),
    sell: (tx, id) => reservations.confirm(tx, id),
    release: (tx, id) => reservations.cancel(tx, id),
  };
}
