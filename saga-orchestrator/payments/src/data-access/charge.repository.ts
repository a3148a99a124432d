import type { Pool, PoolClient } from '@lab/shared/pg';
import type { Outcome } from '@lab/saga-participant-kit';
import { declineOverLimit, refuseKnownCharge } from '../domain/charge-rules.ts';

export async function createCard(pool: Pool, cardToken: string, limitCents: number) {
  await pool.query(
    `INSERT INTO cards (token, limit_cents) VALUES ($1, $2)
     ON CONFLICT (token) DO UPDATE SET limit_cents = EXCLUDED.limit_cents`,
    [cardToken, limitCents],
  );
}

export async function charge(
  client: PoolClient,
  input: { chargeId: string; cardToken: string; amountCents: number },
): Promise<Outcome> {
  const existing = await client.query<{ tombstone: boolean }>(
    'SELECT tombstone FROM charges WHERE id = $1 FOR UPDATE',
    [input.chargeId],
  );
  refuseKnownCharge(existing.rows[0]);

  // The card row lock serialises charges on one card, so two trips cannot both fit under
  // the same remaining limit.
  const card = await client.query<{ limit_cents: number; spent: number }>(
    `SELECT c.limit_cents,
            (SELECT coalesce(sum(amount_cents), 0) FROM charges
              WHERE card_token = c.token AND status = 'CAPTURED') AS spent
       FROM cards c WHERE token = $1 FOR UPDATE`,
    [input.cardToken],
  );
  const limit = card.rows[0];
  declineOverLimit(
    limit && { limitCents: limit.limit_cents, spentCents: limit.spent },
    input.amountCents,
  );

  await client.query(
    `INSERT INTO charges (id, card_token, amount_cents, status) VALUES ($1, $2, $3, 'CAPTURED')`,
    [input.chargeId, input.cardToken, input.amountCents],
  );
  return {
    status: 201,
    body: { chargeId: input.chargeId, status: 'CAPTURED', amountCents: input.amountCents },
  };
}

/** Refund never fails for a business reason: a missing charge leaves a VOIDED tombstone. */
export async function refund(client: PoolClient, chargeId: string): Promise<Outcome> {
  const { rows } = await client.query<{ status: string }>(
    'SELECT status FROM charges WHERE id = $1 FOR UPDATE',
    [chargeId],
  );
  const status = rows[0]?.status;
  if (status === undefined) {
    await client.query(`INSERT INTO charges (id, status, tombstone) VALUES ($1, 'VOIDED', true)`, [
      chargeId,
    ]);
    return { status: 200, body: { chargeId, status: 'VOIDED' } };
  }
  if (status === 'CAPTURED')
    await client.query(`UPDATE charges SET status = 'REFUNDED', updated_at = now() WHERE id = $1`, [
      chargeId,
    ]);
  return { status: 200, body: { chargeId, status: status === 'VOIDED' ? 'VOIDED' : 'REFUNDED' } };
}
