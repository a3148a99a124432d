-- Up Migration

-- A hold and a cancel of one reservation id can run at the same time: the cancel of a step
-- whose call timed out, while that call is still running here. Neither finds a row to lock, so
-- both go on to insert one, and the second insert used to fail on the primary key: a 500 for a
-- compensation, which must always succeed. Both inserts now step aside on a conflict and answer
-- from the row the other call wrote.

CREATE OR REPLACE FUNCTION hold_units(
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
    -- Another key wrote this id while this call ran: a hold, or a cancel's tombstone (both
    -- found no row to lock). Give the units back and refuse as that row says.
    UPDATE inventory SET held = held - p_quantity WHERE id = p_inventory;
    SELECT tombstone INTO tomb FROM reservations WHERE id = p_id;
    IF tomb THEN
      RETURN refusal(p_key, 409, 'reservation-cancelled',
        'This reservation was cancelled before it arrived; a late reservation is refused.');
    END IF;
    RETURN refusal(p_key, 409, 'reservation-exists', 'A reservation with this id already exists.');
  END IF;
  RETURN answer_idempotency_key(p_key, 201, jsonb_build_object(
    'reservationId', p_id, 'status', 'PENDING',
    'expiresAt', to_char(expires AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
END $$;

CREATE OR REPLACE FUNCTION release_units(p_key text, p_hash text, p_id text) RETURNS participant_answer
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
    INSERT INTO reservations (id, status, tombstone) VALUES (p_id, 'CANCELLED', true)
    ON CONFLICT (id) DO NOTHING;
    IF FOUND THEN
      RETURN answer_idempotency_key(p_key, 200,
        jsonb_build_object('reservationId', p_id, 'status', 'CANCELLED', 'tombstone', true));
    END IF;
    -- The hold of this id committed while this cancel waited to write its tombstone: cancel
    -- that hold instead (a new statement, so a new snapshot that sees it).
    SELECT inventory_id, status, quantity INTO r FROM reservations WHERE id = p_id FOR UPDATE;
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
CREATE OR REPLACE FUNCTION hold_units(
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

CREATE OR REPLACE FUNCTION release_units(p_key text, p_hash text, p_id text) RETURNS participant_answer
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
