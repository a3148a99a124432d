import { randomUUID } from 'node:crypto';
import type { Pool } from '@lab/shared/pg';
import { idempotentCall, type Keyed } from './idempotency.repository.ts';

export interface InventoryCounts {
  id: string;
  capacity: number;
  held: number;
  confirmed: number;
  available: number;
}

export async function createInventory(pool: Pool, capacity: number): Promise<string> {
  const id = randomUUID();
  await pool.query('INSERT INTO inventory (id, capacity) VALUES ($1, $2)', [id, capacity]);
  return id;
}

export async function readInventory(pool: Pool, id: string): Promise<InventoryCounts | undefined> {
  const { rows } = await pool.query<InventoryCounts>(
    `SELECT id, capacity, held, confirmed, capacity - held - confirmed AS available
       FROM inventory WHERE id = $1`,
    [id],
  );
  return rows[0];
}

// Each use case is one stored function (migrations/002_one_round_trip.sql) that applies the
// reservation rules of domain/reservation-rules.ts next to the rows they guard: one round trip
// per call instead of the eight its statements would take one by one, and row locks held for
// one statement, not for eight network hops.

/** The action: a PENDING reservation (the semantic lock) holding `quantity` units. */
export function reserve(
  pool: Pool,
  keyed: Keyed,
  input: { reservationId: string; inventoryId: string; quantity: number; ttlMs: number },
) {
  return idempotentCall(pool, 'hold_units', keyed, [
    input.reservationId,
    input.inventoryId,
    input.quantity,
    input.ttlMs,
  ]);
}

/**
 * After the pivot: the held units are sold, a lapsed hold's too while a unit is free
 * (migrations/003_lapsed_hold.sql); confirming twice is the same sale.
 */
export function confirm(pool: Pool, keyed: Keyed, id: string) {
  return idempotentCall(pool, 'sell_units', keyed, [id]);
}

/**
 * The compensation. It always succeeds: cancelling twice is a no-op, and cancelling a
 * reservation that never arrived writes a tombstone so it cannot arrive later.
 */
export function cancel(pool: Pool, keyed: Keyed, id: string) {
  return idempotentCall(pool, 'release_units', keyed, [id]);
}
