-- Up Migration

-- The write model: normalised, the source of truth. Invariants live in constraints and in the
-- transaction of each command, never in the read side.
CREATE TABLE products (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku          text NOT NULL UNIQUE,
  name         text NOT NULL,
  price_cents  bigint NOT NULL CHECK (price_cents >= 0),
  stock        bigint NOT NULL CHECK (stock >= 0),
  units_sold   bigint NOT NULL DEFAULT 0 CHECK (units_sold >= 0),
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id  text NOT NULL,
  status       text NOT NULL CHECK (status IN ('placed', 'cancelled')),
  total_cents  bigint NOT NULL,
  version      integer NOT NULL DEFAULT 1,
  placed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_at DESC);

CREATE TABLE order_lines (
  order_id          uuid NOT NULL REFERENCES orders (id),
  line_no           integer NOT NULL,
  product_id        uuid NOT NULL REFERENCES products (id),
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  bigint NOT NULL,
  PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_by_product ON order_lines (product_id);

-- The transactional outbox. A command inserts its events here in the same transaction as its
-- domain rows, so an event exists if and only if the change it describes committed.
--   position: insertion order (a sequence, so NOT commit order: see the relay's gap handling)
--   txid:     the inserting transaction; the relay compares it with the oldest running
--             transaction to know whether an earlier position might still commit
CREATE TABLE outbox (
  position           bigserial PRIMARY KEY,
  txid               xid8 NOT NULL DEFAULT pg_current_xact_id(),
  aggregate_type     text NOT NULL,
  aggregate_id       uuid NOT NULL,
  aggregate_version  integer NOT NULL,
  type               text NOT NULL,
  payload            jsonb NOT NULL,
  trace_context      jsonb NOT NULL DEFAULT '{}',
  occurred_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at       timestamptz,
  UNIQUE (aggregate_id, aggregate_version)
);
-- The relay only ever scans the unpublished tail; this keeps that scan small however long the
-- published history grows.
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;

-- Wake the relay when new events commit (NOTIFY is delivered at COMMIT, never for a rollback).
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_inserted', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Idempotency keys for POST /orders: the first response is stored in the same transaction as
-- the order, so a retried request either sees it or finds no trace of the first attempt.
CREATE TABLE idempotency_keys (
  key           text PRIMARY KEY,
  request_hash  text NOT NULL,
  status_code   integer NOT NULL,
  response      jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE idempotency_keys;
DROP TRIGGER outbox_inserted ON outbox;
DROP FUNCTION outbox_notify();
DROP TABLE outbox;
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE products;
