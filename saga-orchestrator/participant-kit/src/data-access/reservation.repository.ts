import { randomUUID } from 'node:crypto';
import { problems } from '@lab/shared/errors';
import type { Pool, PoolClient } from '@lab/shared/pg';
import {
  refuseKnownReservation,
  refuseNoUnits,
  refuseUnconfirmable,
} from '../domain/reservation-rules.ts';
import type { Outcome } from './idempotency.repository.ts';

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

/** Releases this inventory's PENDING holds whose semantic lock expired. */
async function expireStaleHolds(client: PoolClient, inventoryId: string): Promise<void> {
  await client.query(
    `WITH expired AS (
       UPDATE reservations SET status = 'EXPIRED', updated_at = now()
        WHERE inventory_id = $1 AND status = 'PENDING' AND expires_at < now()
        RETURNING quantity)
     UPDATE inventory SET held = held - (SELECT coalesce(sum(quantity), 0) FROM expired)
      WHERE id = $1`,
    [inventoryId],
  );
}

async function takeUnits(client: PoolClient, inventoryId: string, quantity: number) {
  // The WHERE is the whole overbooking guard: no read-then-write window between sagas.
  const taken = await client.query(
    `UPDATE inventory SET held = held + $2
      WHERE id = $1 AND capacity - held - confirmed >= $2`,
    [inventoryId, quantity],
  );
  return taken.rowCount === 1;
}

export async function reserve(
  client: PoolClient,
  input: { reservationId: string; inventoryId: string; quantity: number; ttlMs: number },
): Promise<Outcome> {
  const existing = await client.query<{ tombstone: boolean }>(
    'SELECT tombstone FROM reservations WHERE id = $1 FOR UPDATE',
    [input.reservationId],
  );
  refuseKnownReservation(existing.rows[0]);

  let taken = await takeUnits(client, input.inventoryId, input.quantity);
  if (!taken) {
    await expireStaleHolds(client, input.inventoryId);
    taken = await takeUnits(client, input.inventoryId, input.quantity);
  }
  if (!taken) {
    const known = await client.query('SELECT 1 FROM inventory WHERE id = $1', [input.inventoryId]);
    refuseNoUnits(known.rowCount === 1);
  }
  const { rows } = await client.query<{ expires_at: Date }>(
    `INSERT INTO reservations (id, inventory_id, status, quantity, expires_at)
     VALUES ($1, $2, 'PENDING', $3, now() + $4 * interval '1 millisecond')
     ON CONFLICT (id) DO NOTHING RETURNING expires_at`,
    [input.reservationId, input.inventoryId, input.quantity, input.ttlMs],
  );
  if (!rows[0])
    throw problems.conflict('reservation-exists', 'A reservation with this id already exists.');
  return {
    status: 201,
    body: { reservationId: input.reservationId, status: 'PENDING', expiresAt: rows[0].expires_at },
  };
}

interface ReservationRow {
  inventory_id: string | null;
  status: string;
  quantity: number;
}

async function lockReservation(client: PoolClient, id: string) {
  const { rows } = await client.query<ReservationRow>(
    'SELECT inventory_id, status, quantity FROM reservations WHERE id = $1 FOR UPDATE',
    [id],
  );
  return rows[0];
}

export async function confirm(client: PoolClient, id: string): Promise<Outcome> {
  const row = await lockReservation(client, id);
  if (!row) throw problems.notFound('The reservation');
  refuseUnconfirmable(row.status);
  if (row.status === 'PENDING') {
    await client.query(
      `UPDATE inventory SET held = held - $2, confirmed = confirmed + $2 WHERE id = $1`,
      [row.inventory_id, row.quantity],
    );
    await client.query(
      `UPDATE reservations SET status = 'CONFIRMED', updated_at = now() WHERE id = $1`,
      [id],
    );
  }
  return { status: 200, body: { reservationId: id, status: 'CONFIRMED' } };
}

/**
 * The compensation. It always succeeds: cancelling twice is a no-op, and cancelling a
 * reservation that never arrived writes a tombstone so it cannot arrive later.
 */
export async function cancel(client: PoolClient, id: string): Promise<Outcome> {
  const row = await lockReservation(client, id);
  if (!row) {
    await client.query(
      `INSERT INTO reservations (id, status, tombstone) VALUES ($1, 'CANCELLED', true)`,
      [id],
    );
    return { status: 200, body: { reservationId: id, status: 'CANCELLED', tombstone: true } };
  }
  if (row.status === 'PENDING' || row.status === 'CONFIRMED') {
    const column = row.status === 'PENDING' ? 'held' : 'confirmed';
    await client.query(`UPDATE inventory SET ${column} = ${column} - $2 WHERE id = $1`, [
      row.inventory_id,
      row.quantity,
    ]);
    await client.query(
      `UPDATE reservations SET status = 'CANCELLED', updated_at = now() WHERE id = $1`,
      [id],
    );
  }
  return { status: 200, body: { reservationId: id, status: 'CANCELLED', tombstone: false } };
}
