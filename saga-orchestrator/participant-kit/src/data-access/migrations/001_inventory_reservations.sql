-- Up Migration

-- Inventory counts are kept on the row and changed by conditional UPDATEs, so two sagas racing
-- for the last room cannot both win: the second UPDATE matches no row and becomes "sold out".
CREATE TABLE inventory (
  id uuid PRIMARY KEY,
  capacity integer NOT NULL CHECK (capacity >= 0),
  held integer NOT NULL DEFAULT 0 CHECK (held >= 0),
  confirmed integer NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (held + confirmed <= capacity)
);

-- A PENDING reservation is the saga's semantic lock: the unit is taken from other sagas but not
-- yet sold, and it expires if nobody confirms or cancels it. A tombstone is a CANCELLED row with
-- no inventory: the compensation arrived first, so a late reservation with this id is refused.
CREATE TABLE reservations (
  id text PRIMARY KEY,
  inventory_id uuid REFERENCES inventory (id),
  status text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'EXPIRED')),
  quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
  tombstone boolean NOT NULL DEFAULT false,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservations_pending_expiry ON reservations (inventory_id, expires_at)
  WHERE status = 'PENDING';

-- Key, request hash and the answer given: a retried or duplicated call replays the answer
-- instead of acting twice.
CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  request_hash text NOT NULL,
  status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE idempotency_keys;
DROP TABLE reservations;
DROP TABLE inventory;
