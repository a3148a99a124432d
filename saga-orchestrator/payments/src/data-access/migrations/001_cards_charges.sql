-- Up Migration

CREATE TABLE cards (
  token text PRIMARY KEY,
  limit_cents bigint NOT NULL CHECK (limit_cents >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The charge is the saga's pivot: authorised and captured in one call, so once it succeeds the
-- trip goes forward only. REFUNDED undoes a capture; VOIDED is a tombstone written when a
-- refund arrives for a charge that never happened, so a late charge with that id is refused.
CREATE TABLE charges (
  id text PRIMARY KEY,
  card_token text,
  amount_cents bigint NOT NULL DEFAULT 0 CHECK (amount_cents >= 0),
  status text NOT NULL CHECK (status IN ('CAPTURED', 'REFUNDED', 'VOIDED')),
  tombstone boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charges_by_card ON charges (card_token) WHERE status = 'CAPTURED';

CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  request_hash text NOT NULL,
  status_code integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE idempotency_keys;
DROP TABLE charges;
DROP TABLE cards;
