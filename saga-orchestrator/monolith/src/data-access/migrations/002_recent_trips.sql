-- Up Migration

-- GET /trips lists the newest trips first, as the orchestrator does (the lab console polls it
-- twice a second): without an index in that order every poll would sort the whole table.
CREATE INDEX trips_recent ON trips.trips (created_at DESC, id);
-- The trace each trip's POST began, so a listed trip links to it as the orchestrator's do.
ALTER TABLE trips.trips ADD COLUMN trace_id text;

-- Down Migration
ALTER TABLE trips.trips DROP COLUMN trace_id;
DROP INDEX trips.trips_recent;
