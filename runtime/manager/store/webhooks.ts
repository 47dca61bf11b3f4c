// Webhook endpoints, deliveries and their attempts. Deliveries are rows: the
// fan-out turns a tenant's new events into one pending delivery per matching
// endpoint, and any replica's worker claims due deliveries under a lease.
import type { Json } from "../../engine/types.js";
import type { Queryable } from "./db.js";
import { REGION_STREAM } from "./events.js";

/** tenant: the owning tenant's events; region: the region's scaling events (REGION_STREAM) */
export type WebhookScope = "tenant" | "region";

// the outbox stream an endpoint receives: its tenant's, or the region's
const SOURCE = (alias: string) => `(CASE WHEN ${alias}.scope = 'region' THEN '${REGION_STREAM}' ELSE ${alias}.tenant END)`;

export interface WebhookEndpointRow {
  id: string;
  tenant: string;
  scope: WebhookScope;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  cursorSeq: number;
  createdAt: Date;
  updatedAt: Date;
}

const ENDPOINT_COLUMNS = `id, tenant, scope, url, description, event_types AS "eventTypes", enabled, cursor_seq AS "cursorSeq",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Registers an endpoint; it receives its stream's events from now on (replay reaches back). */
export async function insertWebhookEndpoint(
  db: Queryable,
  e: { id: string; tenant: string; scope?: WebhookScope; url: string; description: string; eventTypes: string[]; secret: string },
): Promise<WebhookEndpointRow> {
  const scope = e.scope ?? "tenant";
  const r = await db.query<WebhookEndpointRow>(
    `INSERT INTO webhook_endpoints (id, tenant, scope, url, description, event_types, secret, cursor_seq)
     VALUES ($1, $2, $7, $3, $4, $5, $6, COALESCE((SELECT last_seq FROM event_sequences WHERE tenant = $8), 0))
     RETURNING ${ENDPOINT_COLUMNS}`,
    [e.id, e.tenant, e.url, e.description, e.eventTypes, e.secret, scope, scope === "region" ? REGION_STREAM : e.tenant],
  );
  return r.rows[0]!;
}

export async function listWebhookEndpoints(db: Queryable, tenant: string): Promise<WebhookEndpointRow[]> {
  const r = await db.query<WebhookEndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 ORDER BY created_at, id`,
    [tenant],
  );
  return r.rows;
}

export async function getWebhookEndpoint(db: Queryable, tenant: string, id: string): Promise<WebhookEndpointRow | undefined> {
  const r = await db.query<WebhookEndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 AND id = $2`, [
    tenant,
    id,
  ]);
  return r.rows[0];
}

export async function updateWebhookEndpoint(
  db: Queryable,
  tenant: string,
  id: string,
  patch: { url?: string; description?: string; eventTypes?: string[]; enabled?: boolean; secret?: string },
): Promise<WebhookEndpointRow | undefined> {
  const r = await db.query<WebhookEndpointRow>(
    `UPDATE webhook_endpoints SET url = COALESCE($3, url), description = COALESCE($4, description),
       event_types = COALESCE($5, event_types), enabled = COALESCE($6, enabled), secret = COALESCE($7, secret),
       -- re-enabling starts from now, not from the backlog of the disabled period
       cursor_seq = CASE WHEN $6 = true AND NOT enabled
         THEN COALESCE((SELECT last_seq FROM event_sequences WHERE tenant = ${SOURCE("webhook_endpoints")}), 0) ELSE cursor_seq END,
       updated_at = now()
     WHERE tenant = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
    [tenant, id, patch.url ?? null, patch.description ?? null, patch.eventTypes ?? null, patch.enabled ?? null, patch.secret ?? null],
  );
  return r.rows[0];
}

export async function deleteWebhookEndpoint(db: Queryable, tenant: string, id: string): Promise<boolean> {
  const r = await db.query("DELETE FROM webhook_endpoints WHERE tenant = $1 AND id = $2", [tenant, id]);
  return (r.rowCount ?? 0) > 0;
}

// an event type matches a filter entry exactly, or by prefix when the entry ends in '*'
const MATCHES = `(cardinality(ep.event_types) = 0 OR EXISTS (
  SELECT 1 FROM unnest(ep.event_types) f
  WHERE f = o.type OR (right(f, 1) = '*' AND starts_with(o.type, left(f, -1)))))`;

/**
 * Creates the pending deliveries for every enabled endpoint's new events and
 * moves the endpoints' cursors past them. Endpoints another replica is fanning
 * out are skipped (SKIP LOCKED); the unique index makes a repeat harmless.
 */
export async function fanOutWebhookDeliveries(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number }>(
    `WITH ep AS (
       SELECT id, ${SOURCE("w")} AS source, event_types, cursor_seq FROM webhook_endpoints w WHERE enabled FOR UPDATE SKIP LOCKED
     ), ev AS (
       SELECT ep.id AS endpoint_id, o.tenant, o.seq, o.type, ${MATCHES} AS wanted
       FROM ep JOIN outbox o ON o.tenant = ep.source AND o.seq > ep.cursor_seq
     ), ins AS (
       INSERT INTO webhook_deliveries (endpoint_id, tenant, event_seq, event_type)
       SELECT endpoint_id, tenant, seq, type FROM ev WHERE wanted ORDER BY seq
       ON CONFLICT DO NOTHING RETURNING 1
     ), adv AS (
       UPDATE webhook_endpoints w SET cursor_seq = m.max_seq
       FROM (SELECT endpoint_id, max(seq) AS max_seq FROM ev GROUP BY endpoint_id) m WHERE w.id = m.endpoint_id
     )
     SELECT count(*)::int AS n FROM ins`,
  );
  return r.rows[0]?.n ?? 0;
}

/** Endpoints with a delivery due now and not leased, and when the next one falls due. */
export async function dueWebhookEndpoints(db: Queryable): Promise<{ due: string[]; nextAt: Date | null }> {
  const r = await db.query<{ endpointId: string | null; nextAt: Date | null }>(
    `SELECT d.endpoint_id AS "endpointId", NULL::timestamptz AS "nextAt" FROM webhook_deliveries d
     JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
     WHERE d.state = 'pending' AND d.next_at <= now() AND (d.lease_until IS NULL OR d.lease_until < now()) GROUP BY d.endpoint_id
     UNION ALL
     SELECT NULL, min(next_at) FROM webhook_deliveries WHERE state = 'pending' AND next_at > now()`,
  );
  return {
    due: r.rows.filter((x) => x.endpointId !== null).map((x) => x.endpointId!),
    nextAt: r.rows.find((x) => x.endpointId === null)?.nextAt ?? null,
  };
}

export interface ClaimedDelivery {
  id: number;
  endpointId: string;
  attempt: number;
  url: string;
  secret: string;
  replay: boolean;
  event: { id: number; type: string; tenant: string; jobId: string | null; at: string; data: Json };
}

/** Leases the endpoint's next due delivery (oldest event first) for `leaseMs`; undefined when none is due. */
export async function claimWebhookDelivery(db: Queryable, endpointId: string, leaseMs: number): Promise<ClaimedDelivery | undefined> {
  const r = await db.query<ClaimedDelivery>(
    `WITH c AS (
       SELECT id FROM webhook_deliveries
       WHERE endpoint_id = $1 AND state = 'pending' AND next_at <= now() AND (lease_until IS NULL OR lease_until < now())
         AND EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $1 AND enabled) -- a disabled endpoint's backlog waits
       ORDER BY event_seq, id LIMIT 1 FOR UPDATE SKIP LOCKED
     ), u AS (
       UPDATE webhook_deliveries d SET attempts = d.attempts + 1, lease_until = now() + make_interval(secs => $2::double precision / 1000)
       FROM c WHERE d.id = c.id
       RETURNING d.id, d.endpoint_id, d.tenant, d.event_seq, d.attempts, d.replay
     )
     SELECT u.id, u.endpoint_id AS "endpointId", u.attempts AS attempt, e.url, e.secret, u.replay,
       jsonb_build_object('id', o.seq, 'type', o.type, 'tenant', o.tenant, 'jobId', o.job_id,
         'at', to_char(o.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', o.payload) AS event
     FROM u JOIN webhook_endpoints e ON e.id = u.endpoint_id
       JOIN outbox o ON o.tenant = u.tenant AND o.seq = u.event_seq`,
    [endpointId, leaseMs],
  );
  return r.rows[0];
}

/**
 * Records one attempt. `retryInMs` null: the delivery is over (succeeded, or failed
 * for good); otherwise it is due again after that delay.
 */
export async function recordWebhookAttempt(
  db: Queryable,
  a: {
    deliveryId: number;
    attempt: number;
    ok: boolean;
    status: number | null;
    latencyMs: number;
    error: string | null;
    retryInMs: number | null;
  },
): Promise<void> {
  await db.query(
    `WITH att AS (
       INSERT INTO webhook_attempts (delivery_id, attempt, status, latency_ms, error) VALUES ($1, $2, $4, $5, $6)
       ON CONFLICT DO NOTHING
     )
     UPDATE webhook_deliveries SET
       state = CASE WHEN $3 THEN 'succeeded' WHEN $7::double precision IS NULL THEN 'failed' ELSE 'pending' END,
       next_at = CASE WHEN $7::double precision IS NULL THEN next_at ELSE now() + make_interval(secs => $7::double precision / 1000) END,
       finished_at = CASE WHEN $3 OR $7::double precision IS NULL THEN now() ELSE NULL END,
       lease_until = NULL, last_status = $4, last_error = $6, last_latency_ms = $5
     WHERE id = $1 AND attempts = $2`,
    [a.deliveryId, a.attempt, a.ok, a.status, Math.round(a.latencyMs), a.error, a.retryInMs],
  );
}

export interface WebhookDeliveryRow {
  id: number;
  eventId: number;
  eventType: string;
  replay: boolean;
  state: "pending" | "succeeded" | "failed";
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastLatencyMs: number | null;
  nextAt: Date;
  createdAt: Date;
  finishedAt: Date | null;
  log: { attempt: number; at: string; status: number | null; latencyMs: number; error: string | null }[];
}

/** An endpoint's delivery log, newest first, with each attempt. */
export async function listWebhookDeliveries(
  db: Queryable,
  tenant: string,
  endpointId: string,
  opts: { beforeId?: number; limit?: number; eventId?: number } = {},
): Promise<WebhookDeliveryRow[]> {
  const r = await db.query<WebhookDeliveryRow>(
    `SELECT d.id, d.event_seq AS "eventId", d.event_type AS "eventType", d.replay, d.state, d.attempts,
       d.last_status AS "lastStatus", d.last_error AS "lastError", d.last_latency_ms AS "lastLatencyMs",
       d.next_at AS "nextAt", d.created_at AS "createdAt", d.finished_at AS "finishedAt",
       COALESCE((SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt, 'at', to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'status', a.status, 'latencyMs', a.latency_ms, 'error', a.error) ORDER BY a.attempt)
         FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS log
     FROM webhook_deliveries d
     -- the endpoint's owner, not d.tenant: a region endpoint's deliveries carry the region stream's events
     WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id AND e.tenant = $1) AND d.endpoint_id = $2 AND ($3::bigint IS NULL OR d.id < $3) AND ($5::bigint IS NULL OR d.event_seq = $5)
     ORDER BY d.id DESC LIMIT $4`,
    [tenant, endpointId, opts.beforeId ?? null, opts.limit ?? 100, opts.eventId ?? null],
  );
  return r.rows;
}

/**
 * Queues the endpoint's matching events in [fromSeq, toSeq] again, as replays (the
 * same event ids, so a receiver that de-duplicates by id sees no double effect).
 */
export async function replayWebhookDeliveries(
  db: Queryable,
  tenant: string,
  endpointId: string,
  range: { fromSeq: number; toSeq: number | null; limit: number },
): Promise<number> {
  const r = await db.query<{ n: number }>(
    `WITH ep AS (SELECT id, ${SOURCE("w")} AS source, event_types FROM webhook_endpoints w WHERE tenant = $1 AND id = $2),
     ev AS (
       SELECT ep.id, o.tenant, o.seq, o.type FROM ep JOIN outbox o ON o.tenant = ep.source
       WHERE o.seq >= $3 AND ($4::bigint IS NULL OR o.seq <= $4) AND ${MATCHES}
       ORDER BY o.seq LIMIT $5
       -- held until commit, so the pruner cannot delete an event between this read and the pending row
       FOR KEY SHARE OF o
     ), ins AS (
       INSERT INTO webhook_deliveries (endpoint_id, tenant, event_seq, event_type, replay)
       SELECT id, tenant, seq, type, true FROM ev
       RETURNING 1
     )
     SELECT count(*)::int AS n FROM ins`,
    [tenant, endpointId, range.fromSeq, range.toSeq, range.limit],
  );
  return r.rows[0]?.n ?? 0;
}

/**
 * Deletes finished (succeeded or failed) deliveries, with their attempts, that
 * finished more than `retentionSeconds` ago, at most `batch` at a time. Pending
 * deliveries are never pruned.
 */
export async function pruneWebhookDeliveries(db: Queryable, opts: { retentionSeconds: number; batch?: number }): Promise<number> {
  const r = await db.query(
    `DELETE FROM webhook_deliveries WHERE id IN (
       SELECT id FROM webhook_deliveries
       WHERE state <> 'pending' AND finished_at < now() - make_interval(secs => $1::double precision)
       ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [opts.retentionSeconds, opts.batch ?? 10_000],
  );
  return r.rowCount ?? 0;
}
