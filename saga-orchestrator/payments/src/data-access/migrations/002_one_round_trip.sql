-- Up Migration

-- One round trip per saga call, as in the inventory participants: each use case is one function
-- that takes the Idempotency-Key, applies the charge rules, makes the change and stores the
-- answer under the key in the statement's own transaction, all or nothing.

-- What every call answers: the stored request hash (the caller refuses a key reused for another
-- request), the status and body, and whether they were replayed from an earlier call.
CREATE TYPE participant_answer AS (
  request_hash text,
  status_code integer,
  response jsonb,
  replayed boolean
);

-- The key first: a duplicate that arrives while the first call runs waits on this row and then
-- replays the stored answer. NULL when the key is new and the work is this call's to do.
CREATE FUNCTION claim_idempotency_key(p_key text, p_hash text) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
BEGIN
  INSERT INTO idempotency_keys (key, request_hash) VALUES (p_key, p_hash)
  ON CONFLICT (key) DO NOTHING;
  IF FOUND THEN
    RETURN NULL;
  END IF;
  SELECT request_hash, status_code, response, true INTO seen
    FROM idempotency_keys WHERE key = p_key;
  RETURN seen;
END $$;

-- Stores the answer under the key in the same transaction as the effect. A refusal is an answer
-- too (`{"problem": {code, detail}}`), replayed like a success: one key, one answer, for ever.
CREATE FUNCTION answer_idempotency_key(p_key text, p_status integer, p_response jsonb)
RETURNS participant_answer
LANGUAGE sql AS $$
  UPDATE idempotency_keys SET status_code = p_status, response = p_response WHERE key = p_key
  RETURNING request_hash, status_code, response, false;
$$;

CREATE FUNCTION refusal(p_key text, p_status integer, p_code text, p_detail text)
RETURNS participant_answer
LANGUAGE sql AS $$
  SELECT answer_idempotency_key(p_key, p_status,
    jsonb_build_object('problem', jsonb_build_object('code', p_code, 'detail', p_detail)));
$$;

-- The pivot: authorise and capture in one call. The card row lock serialises charges on one
-- card (003_charge_after_lock.sql reads the spent total after it); cards nobody registered have
-- no limit.
CREATE FUNCTION charge_card(
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

-- Refund never fails for a business reason: a missing charge leaves a VOIDED tombstone.
CREATE FUNCTION refund_charge(p_key text, p_hash text, p_id text) RETURNS participant_answer
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

-- Down Migration
DROP FUNCTION refund_charge(text, text, text);
DROP FUNCTION charge_card(text, text, text, text, bigint);
DROP FUNCTION refusal(text, integer, text, text);
DROP FUNCTION answer_idempotency_key(text, integer, jsonb);
DROP FUNCTION claim_idempotency_key(text, text);
DROP TYPE participant_answer;
