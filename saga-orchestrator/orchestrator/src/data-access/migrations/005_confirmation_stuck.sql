-- Up Migration
-- A participant that refuses a step after the pivot (a confirmation whose hold lapsed and was
-- sold to someone else) breaks the promise a retriable step makes: the card is charged and
-- there is no going back on its own. Retrying would only replay the stored refusal, so the saga
-- waits in CONFIRMATION_STUCK, unfinished, until an operator compensates it.
ALTER TABLE sagas DROP CONSTRAINT sagas_status_check;
ALTER TABLE sagas ADD CONSTRAINT sagas_status_check CHECK (status IN
  ('PENDING', 'CONFIRMING', 'COMPLETED', 'COMPENSATING', 'COMPENSATED', 'COMPENSATION_STUCK',
   'CONFIRMATION_STUCK'));

DROP INDEX sagas_unfinished;
CREATE INDEX sagas_unfinished ON sagas (status)
  WHERE status IN
    ('PENDING', 'CONFIRMING', 'COMPENSATING', 'COMPENSATION_STUCK', 'CONFIRMATION_STUCK');

-- Down Migration
DROP INDEX sagas_unfinished;
CREATE INDEX sagas_unfinished ON sagas (status)
  WHERE status IN ('PENDING', 'CONFIRMING', 'COMPENSATING', 'COMPENSATION_STUCK');
ALTER TABLE sagas DROP CONSTRAINT sagas_status_check;
ALTER TABLE sagas ADD CONSTRAINT sagas_status_check CHECK (status IN
  ('PENDING', 'CONFIRMING', 'COMPLETED', 'COMPENSATING', 'COMPENSATED', 'COMPENSATION_STUCK'));
