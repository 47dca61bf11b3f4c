-- Up Migration

-- A statement-level trigger fires even when its INSERT wrote no rows, and the
-- progress update's conditional INSERT INTO outbox (an event only when a task
-- crosses a 10 % boundary) writes none most of the time: every progress report
-- woke every sequencer for a transaction that numbered nothing. The transition
-- table says whether the statement wrote anything.
CREATE OR REPLACE FUNCTION ff_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM written) THEN
    PERFORM pg_notify('ff_outbox', '');
  END IF;
  RETURN NULL;
END;
$$;
DROP TRIGGER outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  REFERENCING NEW TABLE AS written
  FOR EACH STATEMENT EXECUTE FUNCTION ff_outbox_notify();

-- Down Migration

DROP TRIGGER outbox_notify ON outbox;
CREATE OR REPLACE FUNCTION ff_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ff_outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION ff_outbox_notify();
