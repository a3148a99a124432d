-- Up Migration

-- NOTIFY only when a relay sleeps. A notifying transaction takes a database-wide lock at commit,
-- so every command that NOTIFYs commits one at a time; a relay that is awake polls and needs no
-- NOTIFY. A relay going to sleep on LISTEN takes the "doorbell" advisory lock exclusively (see
-- the relay's outbox-listener.ts); this trigger takes it shared for the rest of the transaction:
--   * taken: no relay sleeps, and none can fall asleep before this transaction commits (its
--     exclusive attempt fails while we hold the shared lock, so it polls again and sees us);
--   * refused: a relay sleeps, so we ring: NOTIFY at commit.
-- Commands take the shared lock side by side, so they never wait on each other here.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock_shared(3101104) THEN
    PERFORM pg_notify('outbox_inserted', '');
  END IF;
  RETURN NULL;
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_inserted', '');
  RETURN NULL;
END $$;
