-- Up Migration

-- A confirm comes after the pivot, when the card is already charged, so refusing it leaves a
-- paid trip without its seat. A hold can lapse before its confirm arrives (the orchestrator or
-- this participant was down longer than HOLD_TTL_MS) and another hold on a sold-out inventory
-- may then have released it (EXPIRED, in hold_units). Its unit is sold again if one is free
-- now; only when none is does the confirm refuse, with a code that says why, and the
-- orchestrator shows the trip CONFIRMATION_STUCK for an operator.
CREATE OR REPLACE FUNCTION sell_units(p_key text, p_hash text, p_id text) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
  r record;
BEGIN
  seen := claim_idempotency_key(p_key, p_hash);
  IF seen.replayed THEN
    RETURN seen;
  END IF;
  SELECT inventory_id, status, quantity INTO r FROM reservations WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN refusal(p_key, 404, 'not-found', 'The reservation was not found.');
  END IF;
  IF r.status = 'PENDING' THEN
    UPDATE inventory SET held = held - r.quantity, confirmed = confirmed + r.quantity
     WHERE id = r.inventory_id;
  ELSIF r.status = 'EXPIRED' THEN
    -- The lapsed hold gave its unit back: the same conditional UPDATE as a new hold's guards
    -- the capacity, so a unit sold meanwhile is not sold twice.
    UPDATE inventory SET confirmed = confirmed + r.quantity
     WHERE id = r.inventory_id AND capacity - held - confirmed >= r.quantity;
    IF NOT FOUND THEN
      RETURN refusal(p_key, 409, 'hold-expired',
        'The hold expired before this confirmation and its units were taken by another reservation.');
    END IF;
  ELSIF r.status <> 'CONFIRMED' THEN
    RETURN refusal(p_key, 409, 'reservation-not-pending', format('The reservation is %s.', r.status));
  END IF;
  IF r.status <> 'CONFIRMED' THEN
    UPDATE reservations SET status = 'CONFIRMED', updated_at = now() WHERE id = p_id;
  END IF;
  RETURN answer_idempotency_key(p_key, 200,
    jsonb_build_object('reservationId', p_id, 'status', 'CONFIRMED'));
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION sell_units(p_key text, p_hash text, p_id text) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
  r record;
BEGIN
  seen := claim_idempotency_key(p_key, p_hash);
  IF seen.replayed THEN
    RETURN seen;
  END IF;
  SELECT inventory_id, status, quantity INTO r FROM reservations WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN refusal(p_key, 404, 'not-found', 'The reservation was not found.');
  END IF;
  IF r.status NOT IN ('PENDING', 'CONFIRMED') THEN
    RETURN refusal(p_key, 409, 'reservation-not-pending', format('The reservation is %s.', r.status));
  END IF;
  IF r.status = 'PENDING' THEN
    UPDATE inventory SET held = held - r.quantity, confirmed = confirmed + r.quantity
     WHERE id = r.inventory_id;
    UPDATE reservations SET status = 'CONFIRMED', updated_at = now() WHERE id = p_id;
  END IF;
  RETURN answer_idempotency_key(p_key, 200,
    jsonb_build_object('reservationId', p_id, 'status', 'CONFIRMED'));
END $$;
