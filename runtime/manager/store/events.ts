// The event stream's SQL: numbering committed outbox rows per tenant (the
// sequencer) and reading a tenant's events after a cursor. See the migration
// 1795702262404_events_webhooks.sql for why ids are assigned after commit.
import type { Json } from "../../engine/types.js";
import type { Db, Queryable } from "./db.js";
import { withTx } from "./db.js";

/** What every consumer (SSE, WebSocket, webhooks) receives. */
export interface EventEnvelope {
  /** per-tenant, gapless, increasing: 1, 2, 3 ... */
  id: number;
  type: string;
  tenant: string;
  jobId: string | null;
  at: string;
  data: Json;
}

// an arbitrary constant: the one advisory lock the sequencers share
const SEQUENCER_LOCK = 0x66660e0e;

/**
 * Numbers every committed, not yet numbered outbox row per tenant, oldest first,
 * and returns the last seq it gave each tenant. Replicas may call it at once: the
 * advisory lock makes them take turns, and READ COMMITTED makes each turn see the
 * previous one's numbers. Notifies `ff_events` with the tenants that moved.
 */
export async function sequenceEvents(db: Db, batch = 5000): Promise<{ numbered: number; tenants: { tenant: string; lastSeq: number }[] }> {
  return withTx(db, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [SEQUENCER_LOCK]);
    const r = await tx.query<{ tenant: string; lastSeq: number; n: number }>(
      `WITH p AS (
         SELECT id, tenant, row_number() OVER (PARTITION BY tenant ORDER BY id) AS n
         FROM (SELECT id, tenant FROM outbox WHERE seq IS NULL ORDER BY id LIMIT $1) q
       ), base AS (
         SELECT t.tenant, COALESCE(s.last_seq, 0) AS last_seq
         FROM (SELECT DISTINCT tenant FROM p) t LEFT JOIN event_sequences s ON s.tenant = t.tenant
       ), upd AS (
         UPDATE outbox o SET seq = base.last_seq + p.n
         FROM p JOIN base ON base.tenant = p.tenant WHERE o.id = p.id
         RETURNING o.tenant, o.seq
       ), last AS (
         SELECT tenant, max(seq) AS last_seq FROM upd GROUP BY tenant
       ), saved AS (
         INSERT INTO event_sequences (tenant, last_seq) SELECT tenant, last_seq FROM last
         ON CONFLICT (tenant) DO UPDATE SET last_seq = EXCLUDED.last_seq
       )
       SELECT tenant, last_seq AS "lastSeq", (SELECT count(*)::int FROM upd) AS n FROM last`,
      [batch],
    );
    if (r.rows.length > 0) {
      await tx.query("SELECT pg_notify('ff_events', $1)", [JSON.stringify(r.rows.map((x) => [x.tenant, x.lastSeq]))]);
    }
    return { numbered: r.rows[0]?.n ?? 0, tenants: r.rows.map((x) => ({ tenant: x.tenant, lastSeq: x.lastSeq })) };
  });
}

export interface ReadEventsOptions {
  afterSeq: number;
  jobId?: string | null;
  limit?: number;
}

/** A tenant's numbered events after a cursor, in order. */
export async function readEvents(db: Queryable, tenant: string, opts: ReadEventsOptions): Promise<EventEnvelope[]> {
  const r = await db.query<EventEnvelope>(
    `SELECT seq AS id, type, tenant, job_id AS "jobId", to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, payload AS data
     FROM outbox WHERE tenant = $1 AND seq > $2 AND ($3::uuid IS NULL OR job_id = $3)
     ORDER BY seq LIMIT $4`,
    [tenant, opts.afterSeq, opts.jobId ?? null, opts.limit ?? 500],
  );
  return r.rows;
}

/**
 * Like readEvents, and also how far the read looked: when fewer than `limit` rows
 * come back, every event up to `scannedTo` was considered (a job-filtered reader
 * moves its cursor there and never rescans other jobs' events). Safe because the
 * sequencer's transactions commit in seq order: a snapshot that sees seq M sees
 * every seq below it.
 */
export async function readEventsPage(
  db: Queryable,
  tenant: string,
  opts: ReadEventsOptions,
): Promise<{ events: EventEnvelope[]; scannedTo: number }> {
  const limit = opts.limit ?? 500;
  const r = await db.query<{ events: EventEnvelope[] | null; scannedTo: number | null }>(
    `WITH page AS (
       SELECT seq, type, tenant, job_id, at, payload FROM outbox
       WHERE tenant = $1 AND seq > $2 AND ($3::uuid IS NULL OR job_id = $3) ORDER BY seq LIMIT $4
     )
     SELECT (SELECT jsonb_agg(jsonb_build_object('id', seq, 'type', type, 'tenant', tenant, 'jobId', job_id,
               'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', payload) ORDER BY seq) FROM page) AS events,
            (SELECT max(seq) FROM outbox WHERE tenant = $1 AND seq > $2) AS "scannedTo"`,
    [tenant, opts.afterSeq, opts.jobId ?? null, limit],
  );
  const events = r.rows[0]?.events ?? [];
  const scannedTo = events.length < limit ? Math.max(opts.afterSeq, r.rows[0]?.scannedTo ?? opts.afterSeq) : events.at(-1)!.id;
  return { events, scannedTo };
}

/** The tenant's last numbered event id (0 when it has none). */
export async function latestEventSeq(db: Queryable, tenant: string): Promise<number> {
  const r = await db.query<{ lastSeq: number }>('SELECT last_seq AS "lastSeq" FROM event_sequences WHERE tenant = $1', [tenant]);
  return r.rows[0]?.lastSeq ?? 0;
}
