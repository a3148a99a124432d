-- Up Migration

-- One round trip per saga call. Each use case is one function that runs in the statement's own
-- transaction: it takes the Idempotency-Key, applies the reservation rules, makes the change and
-- stores the answer under the key, all or nothing. The same steps sent one by one would take
-- eight round trips (BEGIN, key, savepoint, lock, update, insert, answer, COMMIT), each paid in
-- Node and in PostgreSQL while the transaction held its row locks.

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

-- The action: hold units under a PENDING reservation, the saga's semantic lock. The conditional
-- UPDATE is the whole overbooking guard; when it finds no room, this inventory's expired holds
-- are released and it is tried once more.
CREATE FUNCTION hold_units(
  p_key text, p_hash text, p_id text, p_inventory uuid, p_quantity integer, p_ttl_ms double precision
) RETURNS participant_answer
LANGUAGE plpgsql AS $$
DECLARE
  seen participant_answer;
  known boolean;
  tomb boolean;
  expires timestamptz;
BEGIN
  seen := claim_idempotency_key(p_key, p_hash);
  IF seen.replayed THEN
    RETURN seen;
  END IF;
  -- A reservation id arrives once; a cancel that came first left a tombstone.
  SELECT tombstone INTO tomb FROM reservations WHERE id = p_id FOR UPDATE;
  IF FOUND AND tomb THEN
    RETURN refusal(p_key, 409, 'reservation-cancelled',
      'This reservation was cancelled before it arrived; a late reservation is refused.');
  ELSIF FOUND THEN
    RETURN refusal(p_key, 409, 'reservation-exists', 'A reservation with this id already exists.');
  END IF;
  UPDATE inventory SET held = held + p_quantity
   WHERE id = p_inventory AND capacity - held - confirmed >= p_quantity;
  IF NOT FOUND THEN
    WITH expired AS (
      UPDATE reservations SET status = 'EXPIRED', updated_at = now()
       WHERE inventory_id = p_inventory AND status = 'PENDING' AND expires_at < now()
       RETURNING quantity)
    UPDATE inventory SET held = held - (SELECT coalesce(sum(quantity), 0) FROM expired)
     WHERE id = p_inventory;
    UPDATE inventory SET held = held + p_quantity
     WHERE id = p_inventory AND capacity - held - confirmed >= p_quantity;
    IF NOT FOUND THEN
      SELECT EXISTS (SELECT 1 FROM inventory WHERE id = p_inventory) INTO known;
      IF NOT known THEN
        RETURN refusal(p_key, 422, 'unknown-inventory', 'There is no inventory with this id.');
      END IF;
      RETURN refusal(p_key, 409, 'sold-out', 'No units left for this inventory.');
    END IF;
  END IF;
  INSERT INTO reservations (id, inventory_id, status, quantity, expires_at)
  VALUES (p_id, p_inventory, 'PENDING', p_quantity, now() + p_ttl_ms * interval '1 millisecond')
  ON CONFLICT (id) DO NOTHING RETURNING expires_at INTO expires;
  IF NOT FOUND THEN
    -- Another key created this reservation meanwhile: give the units back and refuse.
    UPDATE inventory SET held = held - p_quantity WHERE id = p_inventory;
    RETURN refusal(p_key, 409, 'reservation-exists', 'A reservation with this id already exists.');
  END IF;
  RETURN answer_idempotency_key(p_key, 201, jsonb_build_object(
    'reservationId', p_id, 'status', 'PENDING',
    'expiresAt', to_char(expires AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
END $$;

-- After the pivot: the held units are sold. Confirming twice is the same sale.
CREATE FUNCTION sell_units(p_key text, p_hash text, p_id text) RETURNS participant_answer
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

-- The compensation. It always succeeds: cancelling twice is a no-op, and cancelling a
-- reservation that never arrived writes a tombstone so it cannot arrive later.
CREATE FUNCTION release_units(p_key text, p_hash text, p_id text) RETURNS participant_answer
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
    INSERT INTO reservations (id, status, tombstone) VALUES (p_id, 'CANCELLED', true);
    RETURN answer_idempotency_key(p_key, 200,
      jsonb_build_object('reservationId', p_id, 'status', 'CANCELLED', 'tombstone', true));
  END IF;
  IF r.status = 'PENDING' THEN
    UPDATE inventory SET held = held - r.quantity WHERE id = r.inventory_id;
  ELSIF r.status = 'CONFIRMED' THEN
    UPDATE inventory SET confirmed = confirmed - r.quantity WHERE id = r.inventory_id;
  END IF;
  IF r.status IN ('PENDING', 'CONFIRMED') THEN
    UPDATE reservations SET status = 'CANCELLED', updated_at = now() WHERE id = p_id;
  END IF;
  RETURN answer_idempotency_key(p_key, 200,
    jsonb_build_object('reservationId', p_id, 'status', 'CANCELLED', 'tombstone', false));
END $$;

-- Down Migration
DROP FUNCTION release_units(text, text, text);
DROP FUNCTION sell_units(text, text, text);
DROP FUNCTION hold_units(text, text, text, uuid, integer, double precision);
DROP FUNCTION refusal(text, integer, text, text);
DROP FUNCTION answer_idempotency_key(text, integer, jsonb);
DROP FUNCTION claim_idempotency_key(text, text);
DROP TYPE participant_answer;
