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

// an arbitrary constant: the one advisory lock the sequencers (and the pruner) share
const SEQUENCER_LOCK = 0x66660e0e;

/**
 * The outbox "tenant" of region-scope events (the autoscaler's scaling decisions):
 * a name no tenant can have (tenants are [a-z0-9-]), so a tenant's stream never
 * matches it, and it gets its own id sequence from the same sequencer.
 */
export const REGION_STREAM = "@region";

/** Job outcomes that produce outputs: the replica that numbers one counts its output media. */
const OUTPUT_EVENT_TYPES = ["job.succeeded", "job.partial"];

/**
 * Numbers every committed, not yet numbered outbox row per tenant, oldest first,
 * and returns the last seq it gave each tenant. Replicas may call it at once: the
 * advisory lock makes them take turns, and READ COMMITTED makes each turn see the
 * previous one's numbers. Notifies `ff_events` with the tenants that moved.
 */
export async function sequenceEvents(
  db: Db,
  batch = 5000,
): Promise<{ numbered: number; tenants: { tenant: string; lastSeq: number }[]; finishedJobs: string[] }> {
  return withTx(db, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [SEQUENCER_LOCK]);
    const r = await tx.query<{ tenant: string; lastSeq: number; n: number; finishedJobs: string[] | null }>(
      `WITH p AS (
         SELECT id, tenant, row_number() OVER (PARTITION BY tenant ORDER BY id) AS n
         FROM (SELECT id, tenant FROM outbox WHERE seq IS NULL ORDER BY id LIMIT $1) q
       ), base AS (
         SELECT t.tenant, COALESCE(s.last_seq, 0) AS last_seq
         FROM (SELECT DISTINCT tenant FROM p) t LEFT JOIN event_sequences s ON s.tenant = t.tenant
       ), upd AS (
         UPDATE outbox o SET seq = base.last_seq + p.n
         FROM p JOIN base ON base.tenant = p.tenant WHERE o.id = p.id
         RETURNING o.tenant, o.seq, o.type, o.job_id
       ), last AS (
         SELECT tenant, max(seq) AS last_seq FROM upd GROUP BY tenant
       ), saved AS (
         INSERT INTO event_sequences (tenant, last_seq) SELECT tenant, last_seq FROM last
         ON CONFLICT (tenant) DO UPDATE SET last_seq = EXCLUDED.last_seq
       )
       SELECT tenant, last_seq AS "lastSeq", (SELECT count(*)::int FROM upd) AS n,
         (SELECT array_agg(DISTINCT job_id) FROM upd WHERE type = ANY($2::text[]) AND job_id IS NOT NULL) AS "finishedJobs"
       FROM last`,
      [batch, OUTPUT_EVENT_TYPES],
    );
    if (r.rows.length > 0) {
      await tx.query("SELECT pg_notify('ff_events', $1)", [JSON.stringify(r.rows.map((x) => [x.tenant, x.lastSeq]))]);
    }
    return {
      numbered: r.rows[0]?.n ?? 0,
      tenants: r.rows.map((x) => ({ tenant: x.tenant, lastSeq: x.lastSeq })),
      finishedJobs: r.rows[0]?.finishedJobs ?? [],
    };
  });
}

/** Whether any committed event waits for a number: one index probe, no lock, no transaction. */
export async function hasUnsequencedEvents(db: Queryable): Promise<boolean> {
  const r = await db.query<{ waiting: boolean }>("SELECT EXISTS (SELECT 1 FROM outbox WHERE seq IS NULL) AS waiting");
  return r.rows[0]?.waiting ?? false;
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
): Promise<{ events: EventEnvelope[]; scannedTo: number; prunedTo: number }> {
  const limit = opts.limit ?? 500;
  const r = await db.query<{ events: EventEnvelope[] | null; scannedTo: number | null; prunedTo: number | null }>(
    `WITH page AS (
       SELECT seq, type, tenant, job_id, at, payload FROM outbox
       WHERE tenant = $1 AND seq > $2 AND ($3::uuid IS NULL OR job_id = $3) ORDER BY seq LIMIT $4
     )
     SELECT (SELECT jsonb_agg(jsonb_build_object('id', seq, 'type', type, 'tenant', tenant, 'jobId', job_id,
               'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', payload) ORDER BY seq) FROM page) AS events,
            (SELECT max(seq) FROM outbox WHERE tenant = $1 AND seq > $2) AS "scannedTo",
            (SELECT pruned_to FROM event_sequences WHERE tenant = $1) AS "prunedTo"`,
    [tenant, opts.afterSeq, opts.jobId ?? null, limit],
  );
  const events = r.rows[0]?.events ?? [];
  const scannedTo = events.length < limit ? Math.max(opts.afterSeq, r.rows[0]?.scannedTo ?? opts.afterSeq) : events.at(-1)!.id;
  // one statement, one snapshot: the pruner deletes rows and raises pruned_to in one transaction
  return { events, scannedTo, prunedTo: Number(r.rows[0]?.prunedTo ?? 0) };
}

/** The tenant's last numbered event id (0 when it has none). */
export async function latestEventSeq(db: Queryable, tenant: string): Promise<number> {
  const r = await db.query<{ lastSeq: number }>('SELECT last_seq AS "lastSeq" FROM event_sequences WHERE tenant = $1', [tenant]);
  return r.rows[0]?.lastSeq ?? 0;
}

export interface PruneEventsResult {
  deleted: number;
  /** streams (tenants, or REGION_STREAM) whose pruned_to moved, and to where */
  streams: { tenant: string; prunedTo: number }[];
}

/**
 * Deletes numbered events older than `retentionSeconds`, at most `batch` of them,
 * except any a webhook still needs: one after an enabled endpoint's fan-out
 * cursor (no delivery made yet) or one with a pending delivery (including a
 * disabled endpoint's backlog and replays). Raises each stream's pruned_to to the
 * highest id deleted, so a consumer resuming below it learns it missed events.
 * Takes the sequencer's lock: the two both write event_sequences, and taking
 * turns means neither waits on the other's row locks in a different order.
 */
export async function pruneEvents(db: Db, opts: { retentionSeconds: number; batch?: number }): Promise<PruneEventsResult> {
  return withTx(db, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [SEQUENCER_LOCK]);
    const r = await tx.query<{ tenant: string; prunedTo: number; n: number }>(
      `WITH doomed AS (
         SELECT o.id FROM outbox o
         WHERE o.seq IS NOT NULL AND o.at < now() - make_interval(secs => $1::double precision)
           AND NOT EXISTS (
             SELECT 1 FROM webhook_endpoints e
             WHERE e.enabled AND e.cursor_seq < o.seq
               AND (CASE WHEN e.scope = 'region' THEN $3 ELSE e.tenant END) = o.tenant)
           AND NOT EXISTS (
             SELECT 1 FROM webhook_deliveries d WHERE d.tenant = o.tenant AND d.event_seq = o.seq AND d.state = 'pending')
         ORDER BY o.id LIMIT $2
         -- a replay reading the row at this moment keeps it (it locks what it reads)
         FOR UPDATE SKIP LOCKED
       ), del AS (
         DELETE FROM outbox o USING doomed WHERE o.id = doomed.id RETURNING o.tenant, o.seq
       ), moved AS (
         UPDATE event_sequences s SET pruned_to = GREATEST(s.pruned_to, m.max_seq)
         FROM (SELECT tenant, max(seq) AS max_seq FROM del GROUP BY tenant) m
         WHERE s.tenant = m.tenant
         RETURNING s.tenant, s.pruned_to
       )
       SELECT tenant, pruned_to AS "prunedTo", (SELECT count(*)::int FROM del) AS n FROM moved`,
      [opts.retentionSeconds, opts.batch ?? 10_000, REGION_STREAM],
    );
    return { deleted: r.rows[0]?.n ?? 0, streams: r.rows.map((x) => ({ tenant: x.tenant, prunedTo: Number(x.prunedTo) })) };
  });
}

/** The highest event id of the stream the pruner has deleted (0: nothing pruned). */
export async function prunedEventSeq(db: Queryable, tenant: string): Promise<number> {
  const r = await db.query<{ prunedTo: string }>('SELECT pruned_to AS "prunedTo" FROM event_sequences WHERE tenant = $1', [tenant]);
  return Number(r.rows[0]?.prunedTo ?? 0);
}
