// Per-tenant object stores, watch folders, and what task-scoped signing and the
// staging cleanup need to know. Credentials are references (env var names), never values.
import type { Json } from "../../engine/types.js";
import type { Queryable } from "./db.js";

export type StoreKind = "s3" | "gcs" | "azure";
export type BucketRole = "input" | "intermediate" | "output";
export type CredentialsRefRow = { source: "default" } | { source: "env"; vars: Record<string, string> };

export interface StoreRow {
  tenant: string;
  name: string;
  kind: StoreKind;
  bucket: string;
  prefix: string;
  region: string | null;
  endpoint: string | null;
  credentials: CredentialsRefRow;
  role: BucketRole;
  createdAt: Date;
}

const STORE_COLUMNS = `tenant, name, kind, bucket, prefix, region, endpoint, credentials, role, created_at AS "createdAt"`;

export class StoreExistsError extends Error {
  constructor(name: string) {
    super(`store ${name} already exists`);
    this.name = "StoreExistsError";
  }
}

export async function insertStore(db: Queryable, s: Omit<StoreRow, "createdAt">): Promise<StoreRow> {
  try {
    const r = await db.query<StoreRow>(
      `INSERT INTO stores (tenant, name, kind, bucket, prefix, region, endpoint, credentials, role)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${STORE_COLUMNS}`,
      [s.tenant, s.name, s.kind, s.bucket, s.prefix, s.region, s.endpoint, JSON.stringify(s.credentials), s.role],
    );
    return r.rows[0]!;
  } catch (e) {
    if ((e as { code?: string }).code === "23505") throw new StoreExistsError(s.name);
    throw e;
  }
}

export async function getStoreRow(db: Queryable, tenant: string, name: string): Promise<StoreRow | undefined> {
  const r = await db.query<StoreRow>(`SELECT ${STORE_COLUMNS} FROM stores WHERE tenant = $1 AND name = $2`, [tenant, name]);
  return r.rows[0];
}

export async function listStoreRows(db: Queryable, tenant: string): Promise<StoreRow[]> {
  const r = await db.query<StoreRow>(`SELECT ${STORE_COLUMNS} FROM stores WHERE tenant = $1 ORDER BY name`, [tenant]);
  return r.rows;
}

export async function deleteStoreRow(db: Queryable, tenant: string, name: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM stores WHERE tenant = $1 AND name = $2`, [tenant, name]);
  return (r.rowCount ?? 0) > 0;
}

/** Unfinished jobs of this tenant that name the store (a store in use is not deleted). */
export async function jobsUsingStore(db: Queryable, tenant: string, name: string): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM jobs WHERE tenant = $1 AND state IN ('queued', 'running')
       AND (composition->'input'->>'uri' LIKE $2 OR composition->'output'->>'uri' LIKE $2)`,
    [tenant, `store://${name.replace(/[\\%_]/g, (c) => "\\" + c)}/%`],
  );
  return r.rows[0]?.n ?? 0;
}

/** The attempt a Sign request claims, if its lease is current: what it may read and write follows from this. */
export interface SigningTask {
  taskId: string;
  jobId: string;
  tenant: string;
  key: string;
  attempt: number;
  spec: Json;
  deps: Record<string, { state: string; result: Json }>;
}

export async function taskForSigning(db: Queryable, taskId: string, epoch: number): Promise<SigningTask | undefined> {
  const r = await db.query<SigningTask>(
    `SELECT t.id AS "taskId", t.job_id AS "jobId", t.tenant, t.key, t.attempt, t.spec,
       COALESCE((SELECT jsonb_object_agg(d.key, jsonb_build_object('state', d.state, 'result', d.result))
                 FROM task_edges e JOIN tasks d ON d.id = e.from_task WHERE e.to_task = t.id), '{}'::jsonb) AS deps
     FROM tasks t WHERE t.id = $1 AND t.epoch = $2 AND t.state IN ('leased', 'running')`,
    [taskId, epoch],
  );
  return r.rows[0];
}

/** Failed and cancelled jobs whose staging has not been removed yet, oldest first. */
export async function jobsWithOrphanedStaging(
  db: Queryable,
  opts: { graceSeconds: number; limit: number },
): Promise<{ id: string; tenant: string; composition: Json }[]> {
  const r = await db.query<{ id: string; tenant: string; composition: Json }>(
    `SELECT id, tenant, composition FROM jobs
      WHERE state IN ('failed', 'cancelled') AND staging_cleaned_at IS NULL
        AND COALESCE(finished_at, updated_at) < now() - make_interval(secs => $1)
      ORDER BY COALESCE(finished_at, updated_at) LIMIT $2`,
    [opts.graceSeconds, opts.limit],
  );
  return r.rows;
}

export async function markStagingCleaned(db: Queryable, jobId: string): Promise<void> {
  await db.query(`UPDATE jobs SET staging_cleaned_at = now() WHERE id = $1`, [jobId]);
}

// ---------------------------------------------------------------- watch folders

export interface WatchFolderRow {
  tenant: string;
  name: string;
  store: string;
  prefix: string;
  template: Json;
  outputPrefix: string;
  enabled: boolean;
  createdAt: Date;
  lastPolledAt: Date | null;
}

const WATCH_COLUMNS = `tenant, name, store, prefix, template, output_prefix AS "outputPrefix", enabled, created_at AS "createdAt", last_polled_at AS "lastPolledAt"`;

export async function insertWatchFolder(
  db: Queryable,
  w: Omit<WatchFolderRow, "createdAt" | "lastPolledAt" | "enabled">,
): Promise<WatchFolderRow> {
  try {
    const r = await db.query<WatchFolderRow>(
      `INSERT INTO watch_folders (tenant, name, store, prefix, template, output_prefix) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${WATCH_COLUMNS}`,
      [w.tenant, w.name, w.store, w.prefix, JSON.stringify(w.template), w.outputPrefix],
    );
    return r.rows[0]!;
  } catch (e) {
    if ((e as { code?: string }).code === "23505") throw new StoreExistsError(`watch folder ${w.name}`);
    throw e;
  }
}

export async function listWatchFolders(db: Queryable, tenant?: string): Promise<WatchFolderRow[]> {
  const r =
    tenant === undefined
      ? await db.query<WatchFolderRow>(`SELECT ${WATCH_COLUMNS} FROM watch_folders WHERE enabled ORDER BY tenant, name`)
      : await db.query<WatchFolderRow>(`SELECT ${WATCH_COLUMNS} FROM watch_folders WHERE tenant = $1 ORDER BY name`, [tenant]);
  return r.rows;
}

export async function deleteWatchFolder(db: Queryable, tenant: string, name: string): Promise<boolean> {
  const r = await db.query(`DELETE FROM watch_folders WHERE tenant = $1 AND name = $2`, [tenant, name]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Claims an object version for a watch folder; false when another poll, notification or
 * replica already did. A claim older than `retakeAfterSeconds` that never got its job
 * recorded (its claimer died in between) and was not refused is taken over; the job's
 * idempotency key keeps the takeover from doubling a job that was in fact inserted.
 */
export async function claimWatchObject(
  db: Queryable,
  tenant: string,
  watch: string,
  key: string,
  version: string,
  retakeAfterSeconds = 300,
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO watch_seen AS s (tenant, watch, key, version) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant, watch, key, version) DO UPDATE SET seen_at = now()
       WHERE s.job_id IS NULL AND s.skipped_reason IS NULL AND s.seen_at <= now() - make_interval(secs => $5)`,
    [tenant, watch, key, version, retakeAfterSeconds],
  );
  return (r.rowCount ?? 0) > 0;
}

/** A claimed object whose composition was refused: it is not retried. */
export async function markWatchSkipped(
  db: Queryable,
  tenant: string,
  watch: string,
  key: string,
  version: string,
  reason: string,
): Promise<void> {
  await db.query(`UPDATE watch_seen SET skipped_reason = $5 WHERE tenant = $1 AND watch = $2 AND key = $3 AND version = $4`, [
    tenant,
    watch,
    key,
    version,
    reason.slice(0, 1000),
  ]);
}

export async function recordWatchJob(
  db: Queryable,
  tenant: string,
  watch: string,
  key: string,
  version: string,
  jobId: string,
): Promise<void> {
  await db.query(`UPDATE watch_seen SET job_id = $5 WHERE tenant = $1 AND watch = $2 AND key = $3 AND version = $4`, [
    tenant,
    watch,
    key,
    version,
    jobId,
  ]);
}

export async function markWatchPolled(db: Queryable, tenant: string, name: string): Promise<void> {
  await db.query(`UPDATE watch_folders SET last_polled_at = now() WHERE tenant = $1 AND name = $2`, [tenant, name]);
}

// ---------------------------------------------------------------- watch-folder notifications

/** Sets (or replaces) a watch folder's notification id and secret hash; false when there is no such folder. */
export async function setWatchNotifyToken(
  db: Queryable,
  tenant: string,
  name: string,
  notifyId: string,
  secretSha256: Buffer,
): Promise<boolean> {
  const r = await db.query(`UPDATE watch_folders SET notify_id = $3, notify_secret_sha256 = $4 WHERE tenant = $1 AND name = $2`, [
    tenant,
    name,
    notifyId,
    secretSha256,
  ]);
  return (r.rowCount ?? 0) > 0;
}

/** The enabled watch folder a notification URL names, with its secret hash (compared by the caller in constant time). */
export async function watchFolderByNotifyId(
  db: Queryable,
  notifyId: string,
): Promise<(WatchFolderRow & { secretSha256: Buffer }) | undefined> {
  const r = await db.query<WatchFolderRow & { secretSha256: Buffer }>(
    `SELECT ${WATCH_COLUMNS}, notify_secret_sha256 AS "secretSha256" FROM watch_folders
      WHERE notify_id = $1 AND enabled AND notify_secret_sha256 IS NOT NULL`,
    [notifyId],
  );
  return r.rows[0];
}

export async function markWatchNotified(db: Queryable, tenant: string, name: string): Promise<void> {
  await db.query(`UPDATE watch_folders SET last_notified_at = now() WHERE tenant = $1 AND name = $2`, [tenant, name]);
}

/** How many jobs a watch folder has started for a key (every version); tests and the API's view read it. */
export async function watchJobsForKey(db: Queryable, tenant: string, watch: string, key: string): Promise<string[]> {
  const r = await db.query<{ jobId: string }>(
    `SELECT job_id AS "jobId" FROM watch_seen WHERE tenant = $1 AND watch = $2 AND key = $3 AND job_id IS NOT NULL ORDER BY seen_at`,
    [tenant, watch, key],
  );
  return r.rows.map((x) => x.jobId);
}
