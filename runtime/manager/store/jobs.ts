import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Json, PlannedTask } from "../../engine/types.js";
import type { Db, Queryable } from "./db.js";
import { withTx } from "./db.js";
import { appendAudit, appendEvent } from "./audit.js";

export type JobState = "queued" | "running" | "succeeded" | "partial" | "failed" | "cancelled";
export const TERMINAL_JOB_STATES: readonly JobState[] = ["succeeded", "partial", "failed", "cancelled"];

export interface NewJob {
  /** the id planJob was given; a fresh UUID when absent */
  id?: string;
  /** the factory (and its revision) the job was submitted against */
  factory?: { name: string; revision: number };
  tenant: string;
  priority: number;
  composition: Json;
  engine: { name: string; version: string };
  /**
   * What the pin resolved to in the engine registry (API submissions always
   * have one). The tasks run exactly this version and image.
   */
  resolvedEngine?: { version: string; image: string | null };
  idempotencyKey?: string;
  requestHash?: string;
  labels?: Record<string, string>;
  tasks: PlannedTask[];
}

export interface JobRow {
  id: string;
  tenant: string;
  state: JobState;
  priority: number;
  composition: Json;
  engineName: string;
  engineVersion: string;
  engineResolvedVersion: string | null;
  engineImage: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  labels: Record<string, string>;
  outputs: Json | null;
  error: Json | null;
  factory: string | null;
  factoryRevision: number | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface TaskSummary {
  id: string;
  key: string;
  kind: string;
  pool: string;
  state: string;
  attempt: number;
  failures: number;
  maxAttempts: number;
  progress: number;
  progressDetail: string | null;
  coordinatorId: string | null;
  optional: boolean;
  dependsOn: string[];
  result: Json | null;
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const JOB_COLUMNS = `id, tenant, state, priority, composition, engine_name AS "engineName", engine_version AS "engineVersion",
  engine_resolved_version AS "engineResolvedVersion", engine_image AS "engineImage", idempotency_key AS "idempotencyKey", request_hash AS "requestHash", labels, outputs, error,
  factory, factory_revision AS "factoryRevision", created_at AS "createdAt", updated_at AS "updatedAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

export class IdempotencyConflictError extends Error {
  constructor(readonly existingJobId: string) {
    super("Idempotency-Key was already used with a different request body");
    this.name = "IdempotencyConflictError";
  }
}

/**
 * Inserts a job and its task DAG in one transaction. With an idempotency key,
 * a repeat of the same request returns the first job (created: false); the
 * same key with a different body is a conflict.
 */
export async function insertJob(db: Db, job: NewJob): Promise<{ job: JobRow; created: boolean }> {
  return withTx(db, async (tx) => {
    if (job.idempotencyKey) {
      // serialise concurrent submissions with the same key
      await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 42))", [`${job.tenant}\n${job.idempotencyKey}`]);
      const existing = await tx.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant = $1 AND idempotency_key = $2`, [
        job.tenant,
        job.idempotencyKey,
      ]);
      const row = existing.rows[0];
      if (row) {
        if (row.requestHash !== (job.requestHash ?? null)) throw new IdempotencyConflictError(row.id);
        return { job: row, created: false };
      }
    }
    const id = job.id ?? randomUUID();
    const inserted = await tx.query<JobRow>(
      `INSERT INTO jobs (id, tenant, state, priority, composition, engine_name, engine_version, idempotency_key, request_hash, labels,
         factory, factory_revision, engine_resolved_version, engine_image)
       VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${JOB_COLUMNS}`,
      [
        id,
        job.tenant,
        job.priority,
        JSON.stringify(job.composition),
        job.engine.name,
        job.engine.version,
        job.idempotencyKey ?? null,
        job.requestHash ?? null,
        JSON.stringify(job.labels ?? {}),
        job.factory?.name ?? null,
        job.factory?.revision ?? null,
        job.resolvedEngine?.version ?? null,
        job.resolvedEngine?.image ?? null,
      ],
    );
    await insertTasks(tx, id, job);
    await appendAudit(tx, {
      tenant: job.tenant,
      jobId: id,
      kind: "job.submitted",
      data: {
        engine: job.engine,
        resolvedEngine: job.resolvedEngine ?? null,
        priority: job.priority,
        factory: job.factory ?? null,
        tasks: job.tasks.map((t) => t.key),
        idempotencyKey: job.idempotencyKey ?? null,
      },
    });
    await appendEvent(tx, { tenant: job.tenant, jobId: id, type: "job.queued", payload: { state: "queued" } });
    await tx.query("NOTIFY ff_ready");
    return { job: inserted.rows[0]!, created: true };
  });
}

async function insertTasks(tx: pg.PoolClient, jobId: string, job: NewJob): Promise<void> {
  const ids = new Map(job.tasks.map((t) => [t.key, randomUUID()] as const));
  for (const t of job.tasks) {
    for (const d of t.dependsOn) if (!ids.has(d)) throw new Error(`task ${t.key} depends on unknown task ${d}`);
  }
  const rows = job.tasks.map((t) => ({
    id: ids.get(t.key)!,
    key: t.key,
    kind: t.kind,
    pool: t.pool,
    spec: t.spec,
    cpu: t.requirements.cpuMillis,
    mem: t.requirements.memoryMb,
    gpus: t.requirements.gpus,
    optional: t.optional ?? false,
    deps: t.dependsOn.length,
    maxAttempts: t.maxAttempts,
  }));
  await tx.query(
    `INSERT INTO tasks (id, job_id, tenant, key, kind, pool, state, priority, spec, cpu_millis, memory_mb, gpus,
       engine_name, engine_version, engine_image, optional, pending_deps, has_deps, max_attempts, ready_at)
     SELECT r.id, $1, $2, r.key, r.kind, r.pool, CASE WHEN r.deps = 0 THEN 'ready' ELSE 'blocked' END, $3, r.spec,
       r.cpu, r.mem, r.gpus, $4, $5, $7, r.optional, r.deps, r.deps > 0, r.max_attempts,
       CASE WHEN r.deps = 0 THEN now() END
     FROM jsonb_to_recordset($6::jsonb) AS r(id uuid, key text, kind text, pool text, spec jsonb, cpu int, mem int, gpus int,
       optional boolean, deps int, max_attempts int)`,
    [
      jobId,
      job.tenant,
      job.priority,
      job.engine.name,
      // a resolved job's tasks are placed on, and run, the exact version it resolved to
      job.resolvedEngine?.version ?? job.engine.version,
      JSON.stringify(rows.map((r) => ({ ...r, max_attempts: r.maxAttempts }))),
      job.resolvedEngine?.image ?? null,
    ],
  );
  const edges = job.tasks.flatMap((t) => t.dependsOn.map((d) => ({ from: ids.get(d)!, to: ids.get(t.key)! })));
  if (edges.length > 0) {
    await tx.query(
      `INSERT INTO task_edges (job_id, from_task, to_task)
       SELECT $1, e."from", e."to" FROM jsonb_to_recordset($2::jsonb) AS e("from" uuid, "to" uuid)`,
      [jobId, JSON.stringify(edges)],
    );
  }
}

export async function getJob(db: Queryable, tenant: string, id: string): Promise<JobRow | undefined> {
  const r = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant = $2`, [id, tenant]);
  return r.rows[0];
}

export async function getJobById(db: Queryable, id: string): Promise<JobRow | undefined> {
  const r = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
  return r.rows[0];
}

export async function listJobTasks(db: Queryable, jobId: string): Promise<TaskSummary[]> {
  const r = await db.query<TaskSummary>(
    `SELECT t.id, t.key, t.kind, t.pool, t.state, t.attempt, t.failures, t.max_attempts AS "maxAttempts", t.progress,
       t.progress_detail AS "progressDetail", t.coordinator_id AS "coordinatorId", t.optional, t.result, t.error,
       t.started_at AS "startedAt", t.finished_at AS "finishedAt",
       COALESCE((SELECT array_agg(d.key ORDER BY d.key) FROM task_edges e JOIN tasks d ON d.id = e.from_task WHERE e.to_task = t.id), '{}') AS "dependsOn"
     FROM tasks t WHERE t.job_id = $1 ORDER BY t.created_at, t.key`,
    [jobId],
  );
  return r.rows;
}

export interface JobPage {
  jobs: JobRow[];
  nextCursor: string | null;
}

/** Keyset pagination on (created_at, id), newest first; the cursor is opaque to clients. */
export async function listJobs(
  db: Queryable,
  tenant: string,
  opts: { state?: JobState; cursor?: { createdAt: string; id: string }; limit: number },
): Promise<JobPage> {
  const params: unknown[] = [tenant];
  let where = "tenant = $1";
  if (opts.state) {
    params.push(opts.state);
    where += ` AND state = $${params.length}`;
  }
  if (opts.cursor) {
    params.push(opts.cursor.createdAt, opts.cursor.id);
    where += ` AND (created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
  }
  params.push(opts.limit + 1);
  const r = await db.query<JobRow & { createdAtText: string }>(
    `SELECT ${JOB_COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdAtText"
     FROM jobs WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const rows = r.rows.slice(0, opts.limit);
  const last = rows[rows.length - 1];
  const nextCursor =
    r.rows.length > opts.limit && last ? Buffer.from(JSON.stringify({ c: last.createdAtText, i: last.id })).toString("base64url") : null;
  return { jobs: rows.map(({ createdAtText: _, ...j }) => j as JobRow), nextCursor };
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { c?: unknown; i?: unknown };
    if (typeof v.c !== "string" || typeof v.i !== "string") return undefined;
    if (!/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(v.c) || !/^[0-9a-f-]{36}$/.test(v.i)) return undefined;
    return { createdAt: v.c, id: v.i };
  } catch {
    return undefined;
  }
}

export interface CancelOutcome {
  job: JobRow;
  /** attempts that were running somewhere and must be told to stop */
  running: { taskId: string; attempt: number; epoch: number; coordinatorId: string }[];
}

/** Cancels a job and every unfinished task at once; reports from cancelled attempts are refused as stale afterwards. */
export async function cancelJob(
  db: Db,
  tenant: string,
  id: string,
  reason: string,
): Promise<CancelOutcome | "not-found" | "already-finished"> {
  return withTx(db, async (tx) => {
    const locked = await tx.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant = $2 FOR UPDATE`, [id, tenant]);
    const job = locked.rows[0];
    if (!job) return "not-found";
    if (TERMINAL_JOB_STATES.includes(job.state)) return "already-finished";
    const running = await tx.query<{ taskId: string; attempt: number; epoch: number; coordinatorId: string }>(
      `UPDATE tasks SET state = 'cancelled', finished_at = now(), error = $2
       WHERE job_id = $1 AND state IN ('leased', 'running')
       RETURNING id AS "taskId", attempt, epoch, coordinator_id AS "coordinatorId"`,
      [id, reason],
    );
    await tx.query(
      `UPDATE attempts a SET state = 'cancelled', finished_at = now(), error = $2
       FROM tasks t WHERE t.job_id = $1 AND a.task_id = t.id AND a.state IN ('leased', 'running')`,
      [id, reason],
    );
    await tx.query(
      `UPDATE tasks SET state = 'cancelled', finished_at = now(), error = $2 WHERE job_id = $1 AND state IN ('blocked', 'ready')`,
      [id, reason],
    );
    const updated = await tx.query<JobRow>(
      `UPDATE jobs SET state = 'cancelled', updated_at = now(), finished_at = now(), error = $2 WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [id, JSON.stringify({ reason })],
    );
    await appendAudit(tx, { tenant, jobId: id, kind: "job.cancelled", data: { reason, runningAttempts: running.rows.length } });
    await appendEvent(tx, { tenant, jobId: id, type: "job.cancelled", payload: { reason } });
    if (running.rows.length > 0) {
      await tx.query("SELECT pg_notify('ff_cancel', $1)", [JSON.stringify(running.rows)]);
    }
    return { job: updated.rows[0]!, running: running.rows };
  });
}

/** Marks a job finished once every task is terminal. Idempotent: a finished job is left as it is. */
export async function finishJob(
  db: Db,
  id: string,
  state: "succeeded" | "partial" | "failed",
  outputs: Json | null,
  error: Json | null,
): Promise<JobRow | undefined> {
  return withTx(db, async (tx) => {
    const r = await tx.query<JobRow>(
      `UPDATE jobs SET state = $2, outputs = $3, error = $4, updated_at = now(), finished_at = now()
       WHERE id = $1 AND state IN ('queued', 'running') RETURNING ${JOB_COLUMNS}`,
      [id, state, JSON.stringify(outputs), JSON.stringify(error)],
    );
    const job = r.rows[0];
    if (job) {
      await appendAudit(tx, { tenant: job.tenant, jobId: id, kind: `job.${state}`, data: { outputs, error } });
      await appendEvent(tx, { tenant: job.tenant, jobId: id, type: `job.${state}`, payload: { state, outputs, error } });
    }
    return job;
  });
}

/** Jobs whose tasks are all terminal but which are not yet finished: the finaliser's work list after a crash. */
export async function jobsAwaitingFinalisation(db: Queryable, limit = 100): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `SELECT j.id FROM jobs j WHERE j.state IN ('queued', 'running')
       AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state IN ('blocked', 'ready', 'leased', 'running'))
     LIMIT $1`,
    [limit],
  );
  return r.rows.map((x) => x.id);
}

export async function taskResultsForJob(
  db: Queryable,
  jobId: string,
): Promise<Record<string, { state: string; result: Json; error: string | null; optional: boolean; kind: string }>> {
  const r = await db.query<{ key: string; state: string; result: Json; error: string | null; optional: boolean; kind: string }>(
    "SELECT key, state, result, error, optional, kind FROM tasks WHERE job_id = $1",
    [jobId],
  );
  return Object.fromEntries(
    r.rows.map((x) => [x.key, { state: x.state, result: x.result, error: x.error, optional: x.optional, kind: x.kind }]),
  );
}

export async function countJobsByState(db: Queryable): Promise<Record<string, number>> {
  const r = await db.query<{ state: string; n: number }>("SELECT state, count(*)::int AS n FROM jobs GROUP BY state");
  return Object.fromEntries(r.rows.map((x) => [x.state, x.n]));
}
