-- Up Migration

-- One database, one schema per module. A module's tables live in its schema and nowhere else,
-- and each module runs its SQL as its own role (infrastructure/module-scope.ts), which holds
-- privileges on its own schema only: a query that reaches into another module's tables is
-- refused by PostgreSQL itself, not by a code review. Roles belong to the server, not to one
-- database, so each is named after its database (<database>_<module>: saga_monolith_flights
-- for the default one): they outlive a dropped database, so `pnpm lab saga reset` and the test
-- kit drop them by that name, without touching another database's.
DO $$
DECLARE
  module text;
BEGIN
  FOREACH module IN ARRAY ARRAY['flights', 'hotels', 'cars', 'payments', 'trips'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', current_database() || '_' || module);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      -- Left by an earlier database of the same name, or made by a replica starting beside
      -- this one: the same role either way.
      NULL;
    END;
  END LOOP;
END $$;

-- Flights, hotels and cars are the same module with three schemas: the inventory a trip
-- books. Without a saga there is no PENDING hold to release later: a reservation is sold in
-- the same transaction that takes its unit, or not written at all.
DO $$
DECLARE
  module text;
BEGIN
  FOREACH module IN ARRAY ARRAY['flights', 'hotels', 'cars'] LOOP
    EXECUTE format('CREATE SCHEMA %I', module);
    EXECUTE format($sql$
      CREATE TABLE %1$I.inventory (
        id uuid PRIMARY KEY,
        capacity integer NOT NULL CHECK (capacity >= 0),
        held integer NOT NULL DEFAULT 0 CHECK (held = 0),
        confirmed integer NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (held + confirmed <= capacity)
      );
      CREATE TABLE %1$I.reservations (
        id text PRIMARY KEY,
        inventory_id uuid NOT NULL REFERENCES %1$I.inventory (id),
        status text NOT NULL CHECK (status = 'CONFIRMED'),
        quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )$sql$, module);
  END LOOP;
END $$;

CREATE SCHEMA payments;
CREATE TABLE payments.cards (
  token text PRIMARY KEY,
  limit_cents bigint NOT NULL CHECK (limit_cents >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Captured in the trip's transaction or never: no refund, no tombstone, nothing to undo.
CREATE TABLE payments.charges (
  id text PRIMARY KEY,
  card_token text NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents > 0),
  status text NOT NULL CHECK (status = 'CAPTURED'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX charges_by_card ON payments.charges (card_token);

CREATE SCHEMA trips;
-- The client's Idempotency-Key stays: it is the public API's promise that a retried POST books
-- one trip. Between modules there is none, because nothing crosses a network.
CREATE TABLE trips.trips (
  id uuid PRIMARY KEY,
  idempotency_key text UNIQUE,
  request_hash text NOT NULL,
  request jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'COMPENSATED')),
  failure_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);

DO $$
DECLARE
  module text;
BEGIN
  FOREACH module IN ARRAY ARRAY['flights', 'hotels', 'cars', 'payments', 'trips'] LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', module, current_database() || '_' || module);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
      module, current_database() || '_' || module);
  END LOOP;
END $$;

-- Down Migration
DROP SCHEMA trips CASCADE;
DROP SCHEMA payments CASCADE;
DROP SCHEMA cars CASCADE;
DROP SCHEMA hotels CASCADE;
DROP SCHEMA flights CASCADE;
