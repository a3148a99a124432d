-- Up Migration

-- GET /trips (the console polls it twice a second) lists the newest sagas first. Without an index
-- in that order every poll sorts the whole log, which only grows; with it a page of 20 is the
-- first 20 index entries. created_at is written once, so step writes stay HOT updates.
CREATE INDEX sagas_recent ON sagas (created_at DESC, id);

-- Down Migration
DROP INDEX sagas_recent;
