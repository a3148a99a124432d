-- Up Migration

-- One row per saga: where it is (status, cursor), why it is compensating, who may advance it
-- (the lease) and the trace it belongs to. Every transition is committed here before the next
-- participant call, so a restarted orchestrator knows exactly where each saga stopped.
CREATE TABLE sagas (
  id uuid PRIMARY KEY,
  idempotency_key text UNIQUE,
  request_hash text NOT NULL,
  request jsonb NOT NULL,
  status text NOT NULL CHECK (status IN
    ('PENDING', 'CONFIRMING', 'COMPLETED', 'COMPENSATING', 'COMPENSATED', 'COMPENSATION_STUCK')),
  cursor integer NOT NULL DEFAULT 0,
  failed_step integer,
  compensate_failed boolean NOT NULL DEFAULT false,
  failure_reason text,
  comp_cursor integer NOT NULL DEFAULT 0,
  trace_context jsonb NOT NULL DEFAULT '{}',
  deadline_at timestamptz NOT NULL,
  -- The lease: owner and version are checked in the WHERE of every write (fencing), so an
  -- instance that lost its lease cannot advance a saga another instance now owns.
  lease_owner text,
  lease_version bigint NOT NULL DEFAULT 0,
  lease_expires_at timestamptz,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  participant_ms double precision NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX sagas_claimable ON sagas (next_attempt_at)
  WHERE status IN ('PENDING', 'CONFIRMING', 'COMPENSATING');

-- The timeline: one row per step and per compensation, with attempts, times and last error.
CREATE TABLE saga_steps (
  seq bigserial PRIMARY KEY,
  saga_id uuid NOT NULL REFERENCES sagas (id),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('action', 'compensation')),
  state text NOT NULL CHECK (state IN ('RUNNING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'STUCK')),
  attempts integer NOT NULL DEFAULT 0,
  budget_base integer NOT NULL DEFAULT 0,
  -- True once an attempt ended without a definite answer (timeout, 5xx, dropped connection):
  -- the step may have taken effect, so a failed step like that is compensated too.
  ambiguous boolean NOT NULL DEFAULT false,
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  deadline_at timestamptz,
  last_error text,
  UNIQUE (saga_id, name)
);

-- Down Migration
DROP TABLE saga_steps;
DROP TABLE sagas;
