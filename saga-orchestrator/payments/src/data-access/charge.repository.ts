import type { Pool } from '@lab/shared/pg';
import { idempotentCall, type Keyed } from '@lab/saga-participant-kit';

export async function createCard(pool: Pool, cardToken: string, limitCents: number) {
  await pool.query(
    `INSERT INTO cards (token, limit_cents) VALUES ($1, $2)
     ON CONFLICT (token) DO UPDATE SET limit_cents = EXCLUDED.limit_cents`,
    [cardToken, limitCents],
  );
}

// Each use case is one stored function (migrations/002_one_round_trip.sql) that applies the
// charge rules of domain/charge-rules.ts next to the rows they guard: one round trip per call,
// and the card's row lock held for one statement instead of across several network hops.

/** The pivot: authorise and capture, or decline over the card's limit. */
export function charge(
  pool: Pool,
  keyed: Keyed,
  input: { chargeId: string; cardToken: string; amountCents: number },
) {
  return idempotentCall(pool, 'charge_card', keyed, [
    input.chargeId,
    input.cardToken,
    input.amountCents,
  ]);
}

/** Refund never fails for a business reason: a missing charge leaves a VOIDED tombstone. */
export function refund(pool: Pool, keyed: Keyed, chargeId: string) {
  return idempotentCall(pool, 'refund_charge', keyed, [chargeId]);
}
