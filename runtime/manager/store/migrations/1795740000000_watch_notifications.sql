-- Up Migration

-- Watch folders fed by bucket notifications (Azure Event Grid, GCS Pub/Sub push, S3 via
-- SNS) as well as by polling. Each folder has its own notification endpoint: an opaque
-- public id in the URL and a secret token, stored only as its SHA-256 (like API keys), so
-- a leaked database row cannot be replayed as a notification. NULL: notifications off
-- (folders made before this migration, until a token is minted for them).
ALTER TABLE watch_folders
  ADD COLUMN notify_id text UNIQUE CHECK (notify_id ~ '^[0-9a-f]{32}$'),
  ADD COLUMN notify_secret_sha256 bytea,
  ADD COLUMN last_notified_at timestamptz;

-- A claim whose job was never recorded (the claiming replica died between the two) is
-- taken over after a while; one whose composition was refused is marked, and stays put.
ALTER TABLE watch_seen ADD COLUMN skipped_reason text;

-- Down Migration

ALTER TABLE watch_seen DROP COLUMN skipped_reason;

ALTER TABLE watch_folders
  DROP COLUMN last_notified_at,
  DROP COLUMN notify_secret_sha256,
  DROP COLUMN notify_id;
