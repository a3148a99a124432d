-- Up Migration

-- Every step rewrites its saga's row (cursor, lease) and its step's row (state). With room
-- left on each page, PostgreSQL can write the new row version beside the old one without
-- touching any index (a HOT update) whenever no indexed column changed, which is most steps.
ALTER TABLE sagas SET (fillfactor = 70);
ALTER TABLE saga_steps SET (fillfactor = 70);

-- Down Migration
ALTER TABLE saga_steps RESET (fillfactor);
ALTER TABLE sagas RESET (fillfactor);
