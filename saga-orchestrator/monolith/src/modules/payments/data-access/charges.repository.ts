/** The payments module's tables (cards, charges), unqualified: the search path names its schema. */
import type { PoolClient } from '@lab/shared/pg';
import { declineOverLimit, refuseKnownCharge } from '@lab/saga-payments/domain';

export async function createCard(tx: PoolClient, cardToken: string, limitCents: number) {
  await tx.query(
    `INSERT INTO cards (token, limit_cents) VALUES ($1, $2)
     ON CONFLICT (token) DO UPDATE SET limit_cents = EXCLUDED.limit_cents`,
    [cardToken, limitCents],
  );
}

export async function readCharge(tx: PoolClient, id: string) {
  const { rows } = await tx.query<Record<string, unknown>>(
    `SELECT id AS "chargeId", card_token AS "cardToken", amount_cents AS "amountCents", status
       FROM charges WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * Captures the charge on the caller's transaction. The payments participant's charge is the
 * saga's pivot, the point after which nothing is undone; here nothing is ever undone after the
 * commit, and before it the whole trip rolls back together, so there is no pivot to place.
 */
export async function capture(
  tx: PoolClient,
  input: { chargeId: string; cardToken: string; amountCents: number },
): Promise<void> {
  // No refund runs here, so no charge is ever voided before it arrives: no tombstones.
  const existing = await tx.query<{ tombstone: boolean }>(
    'SELECT false AS tombstone FROM charges WHERE id = $1',
    [input.chargeId],
  );
  refuseKnownCharge(existing.rows[0]);
  // The card row lock serialises charges on one card, so two trips cannot both fit under
  // the same remaining limit. What the card has spent is read after the lock, by a statement
  // of its own: under READ COMMITTED, read in the locking statement it would come from that
  // statement's snapshot, taken before it waited, without the charge that held the card.
  const card = await tx.query<{ limit_cents: number }>(
    'SELECT limit_cents FROM cards WHERE token = $1 FOR UPDATE',
    [input.cardToken],
  );
  const limit = card.rows[0];
  if (limit) {
    const { rows } = await tx.query<{ spent: number }>(
      'SELECT coalesce(sum(amount_cents), 0) AS spent FROM charges WHERE card_token = $1',
      [input.cardToken],
    );
    declineOverLimit(
      { limitCents: limit.limit_cents, spentCents: rows[0]?.spent ?? 0 },
      input.amountCents,
    );
  }
  await tx.query(
    `INSERT INTO charges (id, card_token, amount_cents, status) VALUES ($1, $2, $3, 'CAPTURED')`,
    [input.chargeId, input.cardToken, input.amountCents],
  );
}
