-- Up Migration

-- What the autoscaler predicted for each task and where it ran: the runtime
-- prediction (from the probe and the history of finished tasks), and the
-- capacity type and instance type of the host that holds its current attempt.
ALTER TABLE tasks ADD COLUMN predicted_seconds real;
ALTER TABLE tasks ADD COLUMN prediction_source text;
ALTER TABLE tasks ADD COLUMN capacity_type text;
ALTER TABLE tasks ADD COLUMN instance_type text;

-- The attempt's host, at lease time (a trigger, so the scheduler's lease statement
-- stays as it is); the autoscaler copies the current attempt's onto the task.
ALTER TABLE attempts ADD COLUMN capacity_type text;
ALTER TABLE attempts ADD COLUMN instance_type text;

CREATE FUNCTION record_attempt_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT c.capacity_type, c.instance_type INTO NEW.capacity_type, NEW.instance_type FROM coordinators c WHERE c.id = NEW.coordinator_id;
  RETURN NEW;
END;
$$;
CREATE TRIGGER attempts_record_capacity BEFORE INSERT ON attempts FOR EACH ROW EXECUTE FUNCTION record_attempt_capacity();

-- A spot interruption notice a coordinator reported, and the cloud instance behind it.
ALTER TABLE coordinators ADD COLUMN interrupted_at timestamptz;
ALTER TABLE coordinators ADD COLUMN interruption_notice text;

-- Every scaling decision with its reason, append-only like the audit.
CREATE TABLE autoscaler_decisions (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  pool        text NOT NULL,
  action      text NOT NULL CHECK (action IN ('launch', 'drain', 'terminate', 'hold', 'error')),
  host_group  text,
  host_id     text,
  count       int,
  reason      text NOT NULL,
  data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX autoscaler_decisions_at ON autoscaler_decisions (at DESC);
CREATE TRIGGER autoscaler_decisions_append_only BEFORE UPDATE OR DELETE ON autoscaler_decisions
  FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();

-- Down Migration
DROP TABLE autoscaler_decisions;
ALTER TABLE coordinators DROP COLUMN interruption_notice;
ALTER TABLE coordinators DROP COLUMN interrupted_at;
DROP TRIGGER attempts_record_capacity ON attempts;
DROP FUNCTION record_attempt_capacity();
ALTER TABLE attempts DROP COLUMN instance_type;
ALTER TABLE attempts DROP COLUMN capacity_type;
ALTER TABLE tasks DROP COLUMN instance_type;
ALTER TABLE tasks DROP COLUMN capacity_type;
ALTER TABLE tasks DROP COLUMN prediction_source;
ALTER TABLE tasks DROP COLUMN predicted_seconds;
