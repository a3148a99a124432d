/**
 * The payment rules, apart from how they are stored. The charge is the saga's pivot: once it
 * is captured the trip only goes forward, so every reason to refuse it is decided here, before
 * anything is written.
 *
 * The payments service applies the same rules next to its rows, in the stored functions of
 * data-access/migrations/002_one_round_trip.sql (one round trip per call), with the same codes
 * and words; these functions are the rules for code that charges in-process.
 */
import { problems } from '@lab/shared/errors';

/**
 * A charge id arrives once. A refund that came first left a tombstone (the orchestrator gave
 * up on an ambiguous charge and refunded it), so the late charge must not capture money for a
 * trip that is already being undone.
 */
export function refuseKnownCharge(existing: { tombstone: boolean } | undefined): void {
  if (existing?.tombstone)
    throw problems.conflict('charge-voided', 'This charge was voided before it arrived.');
  if (existing) throw problems.conflict('charge-exists', 'A charge with this id already exists.');
}

/** Declines a charge that would take the card over its limit. Cards nobody registered have none. */
export function declineOverLimit(
  card: { limitCents: number; spentCents: number } | undefined,
  amountCents: number,
): void {
  if (card && card.spentCents + amountCents > card.limitCents)
    throw problems.conflict('card-declined', 'The card was declined: over its limit.', {
      remainingCents: card.limitCents - card.spentCents,
    });
}
