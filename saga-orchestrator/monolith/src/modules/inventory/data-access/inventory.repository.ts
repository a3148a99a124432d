/**
 * The inventory module's tables, in whichever of the flights, hotels or cars schemas the
 * transaction's search path names (infrastructure/module-scope.ts): unqualified on purpose, so
 * the same statements serve the three modules and can reach no other schema.
 */
import { randomUUID } from 'node:crypto';
import type { PoolClient } from '@lab/shared/pg';
import { refuseKnownReservation, refuseNoUnits } from '@lab/saga-participant-kit/domain';

export interface InventoryCounts {
  id: string;
  capacity: number;
  held: number;
  confirmed: number;
  available: number;
}

export async function createInventory(tx: PoolClient, capacity: number): Promise<string> {
  const id = randomUUID();
  await tx.query('INSERT INTO inventory (id, capacity) VALUES ($1, $2)', [id, capacity]);
  return id;
}

export async function readInventory(
  tx: PoolClient,
  id: string,
): Promise<InventoryCounts | undefined> {
  const { rows } = await tx.query<InventoryCounts>(
    `SELECT id, capacity, held, confirmed, capacity - held - confirmed AS available
       FROM inventory WHERE id = $1`,
    [id],
  );
  return rows[0];
}

export async function readReservation(tx: PoolClient, id: string) {
  const { rows } = await tx.query<Record<string, unknown>>(
    `SELECT id, inventory_id AS "inventoryId", status, quantity FROM reservations WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * Takes the units and sells them at once. The participant's PENDING hold (the saga's semantic
 * lock) exists because its sale may still be undone by a compensation; here the sale commits
 * with the rest of the trip or not at all, so the unit goes straight to CONFIRMED.
 */
export async function sell(
  tx: PoolClient,
  input: { reservationId: string; inventoryId: string; quantity: number },
): Promise<void> {
  // No compensation runs here, so no cancel can arrive first: a known id is never a tombstone.
  const existing = await tx.query<{ tombstone: boolean }>(
    'SELECT false AS tombstone FROM reservations WHERE id = $1',
    [input.reservationId],
  );
  refuseKnownReservation(existing.rows[0]);
  // The WHERE is the whole overbooking guard, as in the participant: no read-then-write window.
  const taken = await tx.query(
    `UPDATE inventory SET confirmed = confirmed + $2
      WHERE id = $1 AND capacity - held - confirmed >= $2`,
    [input.inventoryId, input.quantity],
  );
  if (taken.rowCount !== 1) {
    const known = await tx.query('SELECT 1 FROM inventory WHERE id = $1', [input.inventoryId]);
    refuseNoUnits(known.rowCount === 1);
  }
  await tx.query(
    `INSERT INTO reservations (id, inventory_id, status, quantity) VALUES ($1, $2, 'CONFIRMED', $3)`,
    [input.reservationId, input.inventoryId, input.quantity],
  );
}
