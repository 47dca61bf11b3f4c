-- Up Migration

-- Pool bootstrap tokens. Every host of a worker pool fetches the same token
-- from the cloud's secret store, so that token must enroll many hosts: it is
-- `reusable` until it expires or is revoked, and each enrolment still gets its
-- own coordinator identity. Single-use tokens keep used_at/used_by as before;
-- for a reusable one they record the first use and the latest enrolment, and
-- `uses` counts enrolments. `label` names who registered the token, so the
-- manager can revoke the bootstrap token it replaced when the secret rotates.
ALTER TABLE join_tokens
  ADD COLUMN reusable   boolean NOT NULL DEFAULT false,
  ADD COLUMN uses       integer NOT NULL DEFAULT 0,
  ADD COLUMN label      text,
  ADD COLUMN revoked_at timestamptz;

CREATE INDEX join_tokens_label ON join_tokens (region, label) WHERE label IS NOT NULL AND revoked_at IS NULL;

-- Down Migration

DROP INDEX join_tokens_label;
ALTER TABLE join_tokens DROP COLUMN revoked_at, DROP COLUMN label, DROP COLUMN uses, DROP COLUMN reusable;
