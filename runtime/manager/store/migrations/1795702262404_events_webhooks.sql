-- Up Migration

-- Per-tenant event ids. The outbox's bigserial is assigned at INSERT time, so two
-- transactions can commit out of id order: a reader that had already moved past id
-- 11 would never see id 10 committed after it. Instead a sequencer (any manager
-- replica, serialised by an advisory lock) numbers committed rows per tenant in
-- commit-visibility order: seq is 1, 2, 3 ... per tenant, gapless, and a consumer
-- that resumes from the last seq it saw misses nothing.
ALTER TABLE outbox ADD COLUMN seq bigint;
CREATE UNIQUE INDEX outbox_tenant_seq ON outbox (tenant, seq) WHERE seq IS NOT NULL;
CREATE INDEX outbox_unsequenced ON outbox (id) WHERE seq IS NULL;

CREATE TABLE event_sequences (
  tenant    text PRIMARY KEY,
  last_seq  bigint NOT NULL
);

-- Wakes the sequencers when a transaction that wrote events commits (NOTIFY is
-- delivered on commit, never for a rolled-back transaction).
CREATE FUNCTION ff_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ff_outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION ff_outbox_notify();

-- Every audit record is also an event (audit.<kind>), written in the same transaction.
CREATE FUNCTION ff_audit_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbox (tenant, job_id, type, payload)
  VALUES (NEW.tenant, NEW.job_id, 'audit.' || NEW.kind,
          jsonb_build_object('auditId', NEW.id, 'taskId', NEW.task_id, 'attempt', NEW.attempt, 'kind', NEW.kind, 'data', NEW.data));
  RETURN NULL;
END;
$$;
CREATE TRIGGER audit_to_outbox AFTER INSERT ON audit
  FOR EACH ROW EXECUTE FUNCTION ff_audit_to_outbox();

-- Webhook endpoints, one tenant each. The secret is kept as it is because every
-- delivery is signed with it; the API shows it once, at creation (or rotation).
CREATE TABLE webhook_endpoints (
  id           uuid PRIMARY KEY,
  tenant       text NOT NULL,
  url          text NOT NULL,
  description  text NOT NULL DEFAULT '',
  event_types  text[] NOT NULL DEFAULT '{}',     -- empty: every event; 'job.*' matches a prefix
  secret       text NOT NULL,
  enabled      boolean NOT NULL DEFAULT true,
  cursor_seq   bigint NOT NULL DEFAULT 0,         -- the tenant's events up to here have deliveries
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant, created_at);

CREATE TABLE webhook_deliveries (
  id               bigserial PRIMARY KEY,
  endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  tenant           text NOT NULL,
  event_seq        bigint NOT NULL,
  event_type       text NOT NULL,
  replay           boolean NOT NULL DEFAULT false,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
  attempts         int  NOT NULL DEFAULT 0,
  next_at          timestamptz NOT NULL DEFAULT now(),
  lease_until      timestamptz,
  last_status      int,
  last_error       text,
  last_latency_ms  int,
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz
);
-- one original delivery per endpoint and event; replays are extra rows
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, event_seq) WHERE NOT replay;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, id DESC);

CREATE TABLE webhook_attempts (
  delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt      int NOT NULL,
  at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  status       int,
  latency_ms   int NOT NULL,
  error        text,
  PRIMARY KEY (delivery_id, attempt)
);

-- Down Migration
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TRIGGER audit_to_outbox ON audit;
DROP FUNCTION ff_audit_to_outbox();
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION ff_outbox_notify();
DROP TABLE event_sequences;
DROP INDEX outbox_unsequenced;
DROP INDEX outbox_tenant_seq;
ALTER TABLE outbox DROP COLUMN seq;
