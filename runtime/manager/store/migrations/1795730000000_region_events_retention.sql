-- Up Migration

-- Region-scope events. The autoscaler's decisions are region-wide, not any
-- tenant's, so they go to the outbox under the pseudo-tenant '@region': no tenant
-- can have that name (tenants are lower-case letters, digits and hyphens), so no
-- tenant-scoped reader ever matches it, and the sequencer gives it its own
-- gapless id sequence like any tenant's. A trigger rather than a second INSERT in
-- the store: every writer of a decision makes the event in the same transaction.
CREATE FUNCTION ff_decision_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbox (tenant, job_id, type, payload)
  VALUES ('@region', NULL, 'scaling.' || NEW.action,
          jsonb_build_object(
            'decisionId', NEW.id,
            'pool', NEW.pool,
            'action', NEW.action,
            'direction', CASE NEW.action WHEN 'launch' THEN 'out' WHEN 'drain' THEN 'in' WHEN 'terminate' THEN 'in' ELSE NULL END,
            'group', NEW.host_group,
            'hostId', NEW.host_id,
            'count', NEW.count,
            'from', NEW.data->'from',
            'to', NEW.data->'to',
            'reason', NEW.reason,
            'data', NEW.data));
  RETURN NULL;
END;
$$;
CREATE TRIGGER autoscaler_decisions_to_outbox AFTER INSERT ON autoscaler_decisions
  FOR EACH ROW EXECUTE FUNCTION ff_decision_to_outbox();

-- Retention. pruned_to is the highest id the pruner has deleted for that stream: a
-- consumer whose cursor is below it may have missed events and is told so (a
-- reset), one at or above it has missed nothing.
ALTER TABLE event_sequences ADD COLUMN pruned_to bigint NOT NULL DEFAULT 0;
CREATE INDEX outbox_sequenced_at ON outbox (at) WHERE seq IS NOT NULL;
CREATE INDEX webhook_deliveries_pending_event ON webhook_deliveries (tenant, event_seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 'pending';

-- A region-scope endpoint belongs to the tenant whose operator registered it (only
-- that tenant sees or manages it) and receives the '@region' stream.
ALTER TABLE webhook_endpoints ADD COLUMN scope text NOT NULL DEFAULT 'tenant' CHECK (scope IN ('tenant', 'region'));

-- Down Migration
ALTER TABLE webhook_endpoints DROP COLUMN scope;
DROP INDEX webhook_deliveries_finished;
DROP INDEX webhook_deliveries_pending_event;
DROP INDEX outbox_sequenced_at;
ALTER TABLE event_sequences DROP COLUMN pruned_to;
DROP TRIGGER autoscaler_decisions_to_outbox ON autoscaler_decisions;
DROP FUNCTION ff_decision_to_outbox();
