import type { Json } from "../../engine/types.js";
import type { Queryable } from "./db.js";

export interface AuditInput {
  tenant: string;
  jobId?: string | null;
  taskId?: string | null;
  attempt?: number | null;
  kind: string;
  data: Json | Record<string, unknown>;
}

export interface AuditRow {
  id: number;
  jobId: string | null;
  taskId: string | null;
  taskKey: string | null;
  attempt: number | null;
  kind: string;
  data: Json;
  at: Date;
}

export async function appendAudit(db: Queryable, a: AuditInput): Promise<void> {
  await db.query("INSERT INTO audit (tenant, job_id, task_id, attempt, kind, data) VALUES ($1, $2, $3, $4, $5, $6)", [
    a.tenant,
    a.jobId ?? null,
    a.taskId ?? null,
    a.attempt ?? null,
    a.kind,
    JSON.stringify(a.data),
  ]);
}

export async function appendAuditBatch(db: Queryable, rows: AuditInput[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO audit (tenant, job_id, task_id, attempt, kind, data)
     SELECT r.tenant, r.job_id, r.task_id, r.attempt, r.kind, r.data
     FROM jsonb_to_recordset($1::jsonb) AS r(tenant text, job_id uuid, task_id uuid, attempt int, kind text, data jsonb)`,
    [
      JSON.stringify(
        rows.map((a) => ({
          tenant: a.tenant,
          job_id: a.jobId ?? null,
          task_id: a.taskId ?? null,
          attempt: a.attempt ?? null,
          kind: a.kind,
          data: a.data,
        })),
      ),
    ],
  );
}

/**
 * A worker's audit records for its attempt, written only while that attempt holds
 * the current lease (one statement: the check and the insert see the same row).
 * Returns "stale" and writes nothing when the lease has moved on.
 */
export async function appendAttemptAudit(
  db: Queryable,
  ref: { taskId: string; epoch: number },
  records: { kind: string; data: Json }[],
): Promise<"ok" | "stale"> {
  if (records.length === 0) return "ok";
  const r = await db.query(
    `INSERT INTO audit (tenant, job_id, task_id, attempt, kind, data)
     SELECT t.tenant, t.job_id, t.id, t.attempt, r.e->>'kind', r.e->'data'
     FROM tasks t, jsonb_array_elements($3::jsonb) WITH ORDINALITY AS r(e, ord)
     WHERE t.id = $1 AND t.epoch = $2 AND t.state IN ('leased', 'running')
     ORDER BY r.ord`,
    [ref.taskId, ref.epoch, JSON.stringify(records)],
  );
  return r.rowCount === records.length ? "ok" : "stale";
}

export async function listAudit(
  db: Queryable,
  tenant: string,
  jobId: string,
  opts: { afterId?: number; limit?: number } = {},
): Promise<AuditRow[]> {
  const r = await db.query<AuditRow>(
    `SELECT a.id, a.job_id AS "jobId", a.task_id AS "taskId", t.key AS "taskKey", a.attempt, a.kind, a.data, a.at
     FROM audit a LEFT JOIN tasks t ON t.id = a.task_id
     WHERE a.tenant = $1 AND a.job_id = $2 AND a.id > $3 ORDER BY a.id LIMIT $4`,
    [tenant, jobId, opts.afterId ?? 0, opts.limit ?? 1000],
  );
  return r.rows;
}

export interface EventInput {
  tenant: string;
  jobId?: string | null;
  type: string;
  payload: Json | Record<string, unknown>;
}

export interface EventRow {
  id: number;
  jobId: string | null;
  type: string;
  payload: Json;
  at: Date;
}

export async function appendEvent(db: Queryable, e: EventInput): Promise<void> {
  await db.query("INSERT INTO outbox (tenant, job_id, type, payload) VALUES ($1, $2, $3, $4)", [
    e.tenant,
    e.jobId ?? null,
    e.type,
    JSON.stringify(e.payload),
  ]);
}

export async function listEvents(
  db: Queryable,
  tenant: string,
  opts: { afterId?: number; jobId?: string; limit?: number } = {},
): Promise<EventRow[]> {
  const r = await db.query<EventRow>(
    `SELECT id, job_id AS "jobId", type, payload, at FROM outbox
     WHERE tenant = $1 AND id > $2 AND ($3::uuid IS NULL OR job_id = $3) ORDER BY id LIMIT $4`,
    [tenant, opts.afterId ?? 0, opts.jobId ?? null, opts.limit ?? 500],
  );
  return r.rows;
}
