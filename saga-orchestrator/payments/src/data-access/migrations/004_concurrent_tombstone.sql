-- Up Migration

-- A charge and a refund of one charge id can run at the same time: the refund of a payment
-- step whose call timed out, while that call is still running here. Neither finds a row to
-- lock, so both go on to insert one, and the second insert used to fail on the primary key: a
-- 500 for a compensation, which must always succeed. Both inserts now step aside on a conflict
-- and answer from the row the other call wrote.

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
  VALUES (p_id, p_card, p_amount, 'CAPTURED')
  ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    -- Another key wrote this id while this call ran: a refund's tombstone, or a charge.
    SELECT tombstone INTO tomb FROM charges WHERE id = p_id;
    IF tomb THEN
      RETURN refusal(p_key, 409, 'charge-voided', 'This charge was voided before it arrived.');
    END IF;
    RETURN refusal(p_key, 409, 'charge-exists', 'A charge with this id already exists.');
  END IF;
  RETURN answer_idempotency_key(p_key, 201, jsonb_build_object(
    'chargeId', p_id, 'status', 'CAPTURED', 'amountCents', p_amount));
END $$;

CREATE OR REPLACE FUNCTION refund_charge(p_key text, p_hash text, p_id text) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
  current text;
BEGIN
  seen := claim_idempotency_key(p_key, p_hash);
  IF seen.replayed THEN
    RETURN seen;
  END IF;
  SELECT status INTO current FROM charges WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO charges (id, status, tombstone) VALUES (p_id, 'VOIDED', true)
    ON CONFLICT (id) DO NOTHING;
    IF FOUND THEN
      RETURN answer_idempotency_key(p_key, 200,
        jsonb_build_object('chargeId', p_id, 'status', 'VOIDED'));
    END IF;
    -- The charge of this id committed while this refund waited to write its tombstone:
    -- refund that charge instead (a new statement, so a new snapshot that sees it).
    SELECT status INTO current FROM charges WHERE id = p_id FOR UPDATE;
  END IF;
  IF current = 'CAPTURED' THEN
    UPDATE charges SET status = 'REFUNDED', updated_at = now() WHERE id = p_id;
  END IF;
  RETURN answer_idempotency_key(p_key, 200, jsonb_build_object(
    'chargeId', p_id, 'status', CASE WHEN current = 'VOIDED' THEN 'VOIDED' ELSE 'REFUNDED' END));
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

CREATE OR REPLACE FUNCTION refund_charge(p_key text, p_hash text, p_id text) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
  current text;
BEGIN
  seen := claim_idempotency_key(p_key, p_hash);
  IF seen.replayed THEN
    RETURN seen;
  END IF;
  SELECT status INTO current FROM charges WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO charges (id, status, tombstone) VALUES (p_id, 'VOIDED', true);
    RETURN answer_idempotency_key(p_key, 200,
      jsonb_build_object('chargeId', p_id, 'status', 'VOIDED'));
  END IF;
  IF current = 'CAPTURED' THEN
    UPDATE charges SET status = 'REFUNDED', updated_at = now() WHERE id = p_id;
  END IF;
  RETURN answer_idempotency_key(p_key, 200, jsonb_build_object(
    'chargeId', p_id, 'status', CASE WHEN current = 'VOIDED' THEN 'VOIDED' ELSE 'REFUNDED' END));
END $$;
