-- Up Migration

CREATE TABLE api_keys (
  id          text PRIMARY KEY,                 -- lookup id, also embedded in the key itself
  tenant      text NOT NULL,
  role        text NOT NULL CHECK (role IN ('admin', 'operator', 'submitter', 'viewer')),
  hash        text NOT NULL,                    -- sha256 of the whole key; the key is shown once
  name        text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE jobs (
  id               uuid PRIMARY KEY,
  tenant           text NOT NULL,
  state            text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled')),
  priority         int  NOT NULL,
  composition      jsonb NOT NULL,
  engine_name      text NOT NULL,
  engine_version   text NOT NULL,
  idempotency_key  text,
  request_hash     text,
  labels           jsonb NOT NULL DEFAULT '{}',
  outputs          jsonb,
  error            jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  UNIQUE (tenant, idempotency_key)
);
CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at DESC, id DESC);
CREATE INDEX jobs_unfinished ON jobs (id) WHERE state IN ('queued', 'running');

CREATE TABLE tasks (
  id               uuid PRIMARY KEY,
  job_id           uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  tenant           text NOT NULL,
  key              text NOT NULL,
  kind             text NOT NULL,
  pool             text NOT NULL,
  state            text NOT NULL CHECK (state IN ('blocked', 'ready', 'leased', 'running', 'succeeded', 'skipped', 'failed', 'cancelled')),
  priority         int  NOT NULL,
  spec             jsonb NOT NULL,
  cpu_millis       int  NOT NULL,
  memory_mb        int  NOT NULL,
  gpus             int  NOT NULL,
  engine_name      text NOT NULL,
  engine_version   text NOT NULL,
  optional         boolean NOT NULL DEFAULT false,
  pending_deps     int  NOT NULL,
  has_deps         boolean NOT NULL,
  attempt          int  NOT NULL DEFAULT 0,      -- attempts started so far
  failures         int  NOT NULL DEFAULT 0,      -- attempts that failed through the task's own fault
  max_attempts     int  NOT NULL,
  epoch            bigint NOT NULL DEFAULT 0,    -- fencing token of the current lease
  coordinator_id   text,
  not_before       timestamptz NOT NULL DEFAULT now(),
  ready_at         timestamptz,
  progress         real NOT NULL DEFAULT 0,
  progress_detail  text,
  result           jsonb,
  error            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  UNIQUE (job_id, key)
);
CREATE INDEX tasks_ready ON tasks (priority DESC, ready_at, id) WHERE state = 'ready';
CREATE INDEX tasks_on_coordinator ON tasks (coordinator_id) WHERE state IN ('leased', 'running');
CREATE INDEX tasks_by_job ON tasks (job_id);

CREATE TABLE task_edges (
  job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  from_task  uuid NOT NULL,
  to_task    uuid NOT NULL,
  PRIMARY KEY (from_task, to_task)
);
CREATE INDEX task_edges_to ON task_edges (to_task);

CREATE SEQUENCE lease_epoch;

CREATE TABLE attempts (
  task_id         uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt         int  NOT NULL,
  epoch           bigint NOT NULL UNIQUE,
  coordinator_id  text NOT NULL,
  state           text NOT NULL CHECK (state IN ('leased', 'running', 'succeeded', 'skipped', 'failed', 'lost', 'cancelled')),
  leased_at       timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  error           text,
  PRIMARY KEY (task_id, attempt)
);

CREATE TABLE coordinators (
  id               text PRIMARY KEY,
  region           text NOT NULL,
  hostname         text NOT NULL DEFAULT '',
  state            text NOT NULL CHECK (state IN ('joined', 'connected', 'disconnected', 'draining', 'gone')),
  cpu_millis       int  NOT NULL DEFAULT 0,
  memory_mb        bigint NOT NULL DEFAULT 0,
  gpus             int  NOT NULL DEFAULT 0,
  capacity         jsonb NOT NULL DEFAULT '{}',
  engines          jsonb NOT NULL DEFAULT '[]',
  pools            text[] NOT NULL DEFAULT '{}',
  capacity_type    text NOT NULL DEFAULT 'local',
  instance_type    text NOT NULL DEFAULT '',
  connected_to     text,
  last_heartbeat   timestamptz,
  joined_at        timestamptz NOT NULL DEFAULT now(),
  cert_serial      text,
  cert_not_after   timestamptz
);

CREATE TABLE join_tokens (
  id          text PRIMARY KEY,
  hash        text NOT NULL,
  region      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  used_by     text
);

-- Append-only evidence of what ran: input hash, ffprobe output, engine, argv,
-- stage timestamps, retries, output hashes.
CREATE TABLE audit (
  id        bigserial PRIMARY KEY,
  tenant    text NOT NULL,
  job_id    uuid,
  task_id   uuid,
  attempt   int,
  kind      text NOT NULL,
  data      jsonb NOT NULL DEFAULT '{}',
  at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_by_job ON audit (job_id, id);

CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();

-- Every state change, for the event bus and webhooks; consumers resume by id.
CREATE TABLE outbox (
  id       bigserial PRIMARY KEY,
  tenant   text NOT NULL,
  job_id   uuid,
  type     text NOT NULL,
  payload  jsonb NOT NULL DEFAULT '{}',
  at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_by_tenant ON outbox (tenant, id);

-- Down Migration
DROP TABLE outbox;
DROP TRIGGER audit_no_truncate ON audit;
DROP TRIGGER audit_no_update_delete ON audit;
DROP TABLE audit;
DROP FUNCTION audit_is_append_only();
DROP TABLE join_tokens;
DROP TABLE coordinators;
DROP TABLE attempts;
DROP SEQUENCE lease_epoch;
DROP TABLE task_edges;
DROP TABLE tasks;
DROP TABLE jobs;
DROP TABLE api_keys;
