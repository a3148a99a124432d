-- Up Migration
-- The saga_sagas gauge counts the sagas still under way on every /metrics scrape. The log keeps
-- every finished saga, so a count over the whole table would read more with each trip ever
-- booked; this index holds the unfinished ones only, which stay few however long the log grows.
CREATE INDEX sagas_unfinished ON sagas (status)
  WHERE status IN ('PENDING', 'CONFIRMING', 'COMPENSATING', 'COMPENSATION_STUCK');

-- Down Migration
DROP INDEX sagas_unfinished;
