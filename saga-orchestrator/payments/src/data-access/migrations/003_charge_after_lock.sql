-- Up Migration

-- charge_card reads what the card has spent in a statement of its own, after the one that locks
-- the card. Under READ COMMITTED a statement reads the snapshot it began with, taken before it
-- waited for the lock: a total read by the locking statement would miss the charge it waited
-- behind, and concurrent trips would fit together under one limit (ten 50,000 charges on a
-- 50,000 card). Each statement of a PL/pgSQL function takes a fresh snapshot, so the second one
-- sees every charge that held the card before it.
CREATE OR REPLACE FUNCTION charge_card(
  p_key text, p_hash text, p_id text, p_card text, p_amount bigint
) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
  tomb boolean;
  limit_cents bigint;
  spent bigint;
BEGIN
  seen := claim_idempotency_key(p_key, p_hash);
  IF seen.replayed THEN
    RETURN seen;
  END IF;
  -- A charge id arrives once; a refund that came first left a VOIDED tombstone.
  SELECT tombstone INTO tomb FROM charges WHERE id = p_id FOR UPDATE;
  IF FOUND AND tomb THEN
    RETURN refusal(p_key, 409, 'charge-voided', 'This charge was voided before it arrived.');
  ELSIF FOUND THEN
    RETURN refusal(p_key, 409, 'charge-exists', 'A charge with this id already exists.');
  END IF;
  SELECT c.limit_cents INTO limit_cents FROM cards c WHERE token = p_card FOR UPDATE;
  IF FOUND THEN
    -- Its own statement, after the lock: its snapshot holds every charge committed while this
    -- one waited for the card.
    SELECT coalesce(sum(amount_cents), 0) INTO spent FROM charges
     WHERE card_token = p_card AND status = 'CAPTURED';
  END IF;
  IF limit_cents IS NOT NULL AND spent + p_amount > limit_cents THEN
    RETURN answer_idempotency_key(p_key, 409, jsonb_build_object('problem', jsonb_build_object(
      'code', 'card-declined', 'detail', 'The card was declined: over its limit.',
      'remainingCents', limit_cents - spent)));
  END IF;
  INSERT INTO charges (id, card_token, amount_cents, status)
  VALUES (p_id, p_card, p_amount, 'CAPTURED');
  RETURN answer_idempotency_key(p_key, 201, jsonb_build_object(
    'chargeId', p_id, 'status', 'CAPTURED', 'amountCents', p_amount));
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION charge_card(
  p_key text, p_hash text, p_id text, p_card text, p_amount bigint
) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
  tomb boolean;
  limit_cents bigint;
  spent bigint;
BEGIN
  seen := claim_idempotency_key(p_key, p_hash);
  IF seen.replayed THEN
    RETURN seen;
  END IF;
  -- A charge id arrives once; a refund that came first left a VOIDED tombstone.
  SELECT tombstone INTO tomb FROM charges WHERE id = p_id FOR UPDATE;
  IF FOUND AND tomb THEN
    RETURN refusal(p_key, 409, 'charge-voided', 'This charge was voided before it arrived.');
  ELSIF FOUND THEN
    RETURN refusal(p_key, 409, 'charge-exists', 'A charge with this id already exists.');
  END IF;
  SELECT c.limit_cents,
         (SELECT coalesce(sum(amount_cents), 0) FROM charges
           WHERE card_token = c.token AND status = 'CAPTURED')
    INTO limit_cents, spent
    FROM cards c WHERE token = p_card FOR UPDATE;
  IF FOUND AND spent + p_amount > limit_cents THEN
    RETURN answer_idempotency_key(p_key, 409, jsonb_build_object('problem', jsonb_build_object(
      'code', 'card-declined', 'detail', 'The card was declined: over its limit.',
      'remainingCents', limit_cents - spent)));
  END IF;
  INSERT INTO charges (id, card_token, amount_cents, status)
  VALUES (p_id, p_card, p_amount, 'CAPTURED');
  RETURN answer_idempotency_key(p_key, 201, jsonb_build_object(
    'chargeId', p_id, 'status', 'CAPTURED', 'amountCents', p_amount));
END $$;
