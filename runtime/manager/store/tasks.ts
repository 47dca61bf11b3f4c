import type pg from "pg";
import type { Json } from "../../engine/types.js";
import type { Db, Queryable } from "./db.js";
import { withTx } from "./db.js";
import { appendAuditBatch, appendEvent, type AuditInput } from "./audit.js";

export interface ReadyTask {
  id: string;
  pool: string;
  priority: number;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  engineName: string;
  engineVersion: string;
}

/** Ready tasks by priority then age; the scheduler's work list. */
export async function readyTasks(db: Queryable, limit: number): Promise<ReadyTask[]> {
  const r = await db.query<ReadyTask>(
    `SELECT id, pool, priority, cpu_millis AS "cpuMillis", memory_mb AS "memoryMb", gpus,
       engine_name AS "engineName", engine_version AS "engineVersion"
     FROM tasks WHERE state = 'ready' AND not_before <= now()
     ORDER BY priority DESC, ready_at, id LIMIT $1`,
    [limit],
  );
  return r.rows;
}

export interface LeasedTask {
  id: string;
  jobId: string;
  tenant: string;
  attempt: number;
  epoch: number;
  coordinatorId: string;
}

/**
 * Leases tasks to coordinators in one statement: a new attempt and a new epoch
 * (the fencing token) for each. A task that stopped being ready since it was
 * read (cancelled) is silently left out.
 */
export async function leaseTasks(db: Queryable, placements: { taskId: string; coordinatorId: string }[]): Promise<LeasedTask[]> {
  if (placements.length === 0) return [];
  const r = await db.query<LeasedTask>(
    `WITH p AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS p(task_id uuid, coordinator_id text)
     ), upd AS (
       UPDATE tasks t SET state = 'leased', attempt = t.attempt + 1, epoch = nextval('lease_epoch'),
         coordinator_id = p.coordinator_id, progress = 0, progress_detail = NULL
       FROM p WHERE t.id = p.task_id AND t.state = 'ready'
       RETURNING t.id, t.job_id, t.tenant, t.attempt, t.epoch, t.coordinator_id
     ), att AS (
       INSERT INTO attempts (task_id, attempt, epoch, coordinator_id, state)
       SELECT id, attempt, epoch, coordinator_id, 'leased' FROM upd
     ), jb AS (
       UPDATE jobs SET state = 'running', started_at = COALESCE(started_at, now()), updated_at = now()
       WHERE id IN (SELECT job_id FROM upd) AND state = 'queued' RETURNING id, tenant
     ), ev AS (
       INSERT INTO outbox (tenant, job_id, type, payload) SELECT tenant, id, 'job.running', '{"state":"running"}' FROM jb
     )
     SELECT id, job_id AS "jobId", tenant, attempt, epoch, coordinator_id AS "coordinatorId" FROM upd`,
    [JSON.stringify(placements.map((p) => ({ task_id: p.taskId, coordinator_id: p.coordinatorId })))],
  );
  return r.rows;
}

export interface AssignmentRow {
  id: string;
  jobId: string;
  tenant: string;
  key: string;
  kind: string;
  pool: string;
  spec: Json;
  attempt: number;
  epoch: number;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  engineName: string;
  engineVersion: string;
  deps: Record<string, { state: string; result: Json }>;
}

const ASSIGNMENT_COLUMNS = `t.id, t.job_id AS "jobId", t.tenant, t.key, t.kind, t.pool, t.spec, t.attempt, t.epoch,
  t.cpu_millis AS "cpuMillis", t.memory_mb AS "memoryMb", t.gpus, t.engine_name AS "engineName", t.engine_version AS "engineVersion",
  CASE WHEN t.has_deps THEN COALESCE((
    SELECT jsonb_object_agg(d.key, jsonb_build_object('state', d.state, 'result', d.result))
    FROM task_edges e JOIN tasks d ON d.id = e.from_task WHERE e.to_task = t.id), '{}'::jsonb)
  ELSE '{}'::jsonb END AS deps`;

/** What a coordinator must be told to run: leased attempts not yet started. */
export async function pendingAssignments(db: Queryable, coordinatorId: string): Promise<AssignmentRow[]> {
  const r = await db.query<AssignmentRow>(
    `SELECT ${ASSIGNMENT_COLUMNS} FROM tasks t WHERE t.coordinator_id = $1 AND t.state = 'leased' ORDER BY t.priority DESC, t.ready_at`,
    [coordinatorId],
  );
  return r.rows;
}

export async function assignmentsByEpoch(db: Queryable, epochs: number[]): Promise<AssignmentRow[]> {
  if (epochs.length === 0) return [];
  const r = await db.query<AssignmentRow>(
    `SELECT ${ASSIGNMENT_COLUMNS} FROM tasks t WHERE t.epoch = ANY($1::bigint[]) AND t.state = 'leased'`,
    [epochs],
  );
  return r.rows;
}

export interface LeaseRef {
  taskId: string;
  epoch: number;
}

/** The lease a report claims, if it is still the current one. */
export async function currentLease(db: Queryable, ref: LeaseRef): Promise<{ jobId: string; tenant: string; attempt: number; coordinatorId: string; state: string } | undefined> {
  const r = await db.query<{ jobId: string; tenant: string; attempt: number; coordinatorId: string; state: string }>(
    `SELECT job_id AS "jobId", tenant, attempt, coordinator_id AS "coordinatorId", state FROM tasks
     WHERE id = $1 AND epoch = $2 AND state IN ('leased', 'running')`,
    [ref.taskId, ref.epoch],
  );
  return r.rows[0];
}

export async function markStarted(db: Queryable, ref: LeaseRef): Promise<"ok" | "stale"> {
  const r = await db.query(
    `WITH t AS (
       UPDATE tasks SET state = 'running', started_at = COALESCE(started_at, now())
       WHERE id = $1 AND epoch = $2 AND state IN ('leased', 'running') RETURNING id
     )
     UPDATE attempts SET state = 'running', started_at = COALESCE(started_at, now())
     WHERE task_id IN (SELECT id FROM t) AND epoch = $2 RETURNING 1`,
    [ref.taskId, ref.epoch],
  );
  return (r.rowCount ?? 0) > 0 ? "ok" : "stale";
}

export async function recordProgress(db: Queryable, ref: LeaseRef, fraction: number, detail: string | null): Promise<"ok" | "stale"> {
  const r = await db.query(
    `UPDATE tasks SET progress = $3, progress_detail = $4, state = 'running', started_at = COALESCE(started_at, now())
     WHERE id = $1 AND epoch = $2 AND state IN ('leased', 'running')`,
    [ref.taskId, ref.epoch, Math.max(0, Math.min(1, fraction)), detail],
  );
  return (r.rowCount ?? 0) > 0 ? "ok" : "stale";
}

export type Outcome = "succeeded" | "skipped" | "failed" | "failed-permanent" | "lost";

export interface FinishInput extends LeaseRef {
  outcome: Outcome;
  result?: Json;
  error?: string;
  audit?: Omit<AuditInput, "tenant" | "jobId" | "taskId" | "attempt">[];
}

export interface FinishOutcome {
  status: "ok" | "stale";
  jobId?: string;
  tenant?: string;
  /** the task's state after this report */
  taskState?: string;
  /** every task of the job is now terminal: the job can be finalised */
  jobSettled?: boolean;
  /** attempts of the same job that were stopped because the job failed */
  cancelled?: { taskId: string; attempt: number; epoch: number; coordinatorId: string }[];
}

/** Retries back off exponentially, 2 s, 4 s, 8 s … capped at 60 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(60_000, 1000 * 2 ** failures);
}

/** Lost attempts (host gone, worker killed by its host) are not the task's fault, but they are capped too. */
const LOST_ATTEMPT_ALLOWANCE = 5;

/**
 * Applies a worker's result (or the loss of an attempt) under the lease epoch:
 * a report carrying any other epoch is refused as stale and changes nothing.
 */
export async function finishAttempt(db: Db, f: FinishInput): Promise<FinishOutcome> {
  return withTx(db, (tx) => finishAttemptTx(tx, f));
}

export async function finishAttemptTx(tx: pg.PoolClient, f: FinishInput): Promise<FinishOutcome> {
  const locked = await tx.query<{ jobId: string; tenant: string; key: string; attempt: number; failures: number; maxAttempts: number; optional: boolean; startedAt: Date | null }>(
    `SELECT job_id AS "jobId", tenant, key, attempt, failures, max_attempts AS "maxAttempts", optional, started_at AS "startedAt"
     FROM tasks WHERE id = $1 AND epoch = $2 AND state IN ('leased', 'running') FOR UPDATE`,
    [f.taskId, f.epoch],
  );
  const t = locked.rows[0];
  if (!t) return { status: "stale" };
  const base = { tenant: t.tenant, jobId: t.jobId, taskId: f.taskId, attempt: t.attempt };
  const audit: AuditInput[] = (f.audit ?? []).map((a) => ({ ...base, kind: a.kind, data: a.data }));
  let taskState: string;
  let becameFinal = false;
  let cancelled: FinishOutcome["cancelled"] = [];

  if (f.outcome === "succeeded" || f.outcome === "skipped") {
    taskState = f.outcome;
    becameFinal = true;
    await tx.query(
      `UPDATE tasks SET state = $3, result = $4, error = NULL, progress = 1, finished_at = now() WHERE id = $1 AND epoch = $2`,
      [f.taskId, f.epoch, f.outcome, JSON.stringify(f.result ?? null)],
    );
  } else {
    const failures = f.outcome === "lost" ? t.failures : t.failures + 1;
    const exhausted = f.outcome === "failed-permanent"
      || failures >= t.maxAttempts
      || t.attempt >= t.maxAttempts + LOST_ATTEMPT_ALLOWANCE;
    if (exhausted) {
      taskState = "failed";
      becameFinal = true;
      await tx.query(
        `UPDATE tasks SET state = 'failed', failures = $3, error = $4, result = $5, finished_at = now() WHERE id = $1 AND epoch = $2`,
        [f.taskId, f.epoch, failures, f.error ?? "failed", JSON.stringify(f.result ?? null)],
      );
    } else {
      taskState = "ready";
      const delay = f.outcome === "lost" ? 0 : retryDelayMs(failures);
      await tx.query(
        `UPDATE tasks SET state = 'ready', failures = $3, error = $4, coordinator_id = NULL, ready_at = now(),
           not_before = now() + make_interval(secs => $5::double precision / 1000), progress = 0
         WHERE id = $1 AND epoch = $2`,
        [f.taskId, f.epoch, failures, f.error ?? "failed", delay],
      );
      audit.push({ ...base, kind: "task.retry", data: { reason: f.error ?? null, outcome: f.outcome, failures, retryInMs: delay } });
    }
  }
  await tx.query(
    `UPDATE attempts SET state = $3, finished_at = now(), error = $4 WHERE task_id = $1 AND epoch = $2`,
    [f.taskId, f.epoch, f.outcome === "failed-permanent" ? "failed" : f.outcome, f.error ?? null],
  );
  audit.push({ ...base, kind: "task.attempt", data: { key: t.key, outcome: f.outcome, error: f.error ?? null, startedAt: t.startedAt, finishedAt: new Date().toISOString() } });

  if (becameFinal) {
    const failedHard = taskState === "failed" && !t.optional;
    if (failedHard) {
      cancelled = await failRestOfJob(tx, t.jobId, `task ${t.key} failed: ${f.error ?? "failed"}`);
    } else {
      // dependents see a finished dependency; an optional one that failed is handed on as failed
      const woke = await tx.query(
        `UPDATE tasks SET pending_deps = pending_deps - 1,
           state = CASE WHEN pending_deps - 1 = 0 THEN 'ready' ELSE state END,
           ready_at = CASE WHEN pending_deps - 1 = 0 THEN now() ELSE ready_at END
         WHERE id IN (SELECT to_task FROM task_edges WHERE from_task = $1) AND state = 'blocked'
         RETURNING state`,
        [f.taskId],
      );
      if (woke.rows.some((r: { state: string }) => r.state === "ready")) await tx.query("NOTIFY ff_ready");
    }
  } else {
    await tx.query("NOTIFY ff_ready");
  }
  await appendAuditBatch(tx, audit);
  await appendEvent(tx, { tenant: t.tenant, jobId: t.jobId, type: `task.${taskState === "ready" ? "retrying" : taskState}`, payload: { task: t.key, attempt: t.attempt, error: f.error ?? null } });
  const open = await tx.query(
    "SELECT 1 FROM tasks WHERE job_id = $1 AND state IN ('blocked', 'ready', 'leased', 'running') LIMIT 1",
    [t.jobId],
  );
  return { status: "ok", jobId: t.jobId, tenant: t.tenant, taskState, jobSettled: open.rowCount === 0, cancelled };
}

async function failRestOfJob(tx: pg.PoolClient, jobId: string, reason: string): Promise<NonNullable<FinishOutcome["cancelled"]>> {
  const running = await tx.query<{ taskId: string; attempt: number; epoch: number; coordinatorId: string }>(
    `UPDATE tasks SET state = 'cancelled', finished_at = now(), error = $2
     WHERE job_id = $1 AND state IN ('leased', 'running')
     RETURNING id AS "taskId", attempt, epoch, coordinator_id AS "coordinatorId"`,
    [jobId, reason],
  );
  await tx.query(
    `UPDATE attempts a SET state = 'cancelled', finished_at = now(), error = $2
     FROM tasks t WHERE t.job_id = $1 AND a.task_id = t.id AND a.state IN ('leased', 'running')`,
    [jobId, reason],
  );
  await tx.query(
    "UPDATE tasks SET state = 'cancelled', finished_at = now(), error = $2 WHERE job_id = $1 AND state IN ('blocked', 'ready')",
    [jobId, reason],
  );
  if (running.rows.length > 0) await tx.query("SELECT pg_notify('ff_cancel', $1)", [JSON.stringify(running.rows)]);
  return running.rows;
}

/** Requeues every attempt held by a coordinator (it is gone, or it told us it lost them). */
export async function requeueCoordinatorTasks(db: Db, coordinatorId: string, reason: string): Promise<FinishOutcome[]> {
  const held = await db.query<{ taskId: string; epoch: number }>(
    `SELECT id AS "taskId", epoch FROM tasks WHERE coordinator_id = $1 AND state IN ('leased', 'running')`,
    [coordinatorId],
  );
  const out: FinishOutcome[] = [];
  for (const h of held.rows) out.push(await finishAttempt(db, { ...h, outcome: "lost", error: reason }));
  return out;
}

/** Attempts a coordinator holds according to the store, for reconciling with what it reports. */
export async function heldAttempts(db: Queryable, coordinatorId: string): Promise<{ taskId: string; attempt: number; epoch: number; state: string }[]> {
  const r = await db.query<{ taskId: string; attempt: number; epoch: number; state: string }>(
    `SELECT id AS "taskId", attempt, epoch, state FROM tasks WHERE coordinator_id = $1 AND state IN ('leased', 'running')`,
    [coordinatorId],
  );
  return r.rows;
}

export async function taskTenant(db: Queryable, taskId: string): Promise<{ tenant: string; jobId: string } | undefined> {
  const r = await db.query<{ tenant: string; jobId: string }>(`SELECT tenant, job_id AS "jobId" FROM tasks WHERE id = $1`, [taskId]);
  return r.rows[0];
}

export async function queueDepth(db: Queryable): Promise<{ pool: string; ready: number; running: number }[]> {
  const r = await db.query<{ pool: string; ready: number; running: number }>(
    `SELECT pool, count(*) FILTER (WHERE state = 'ready')::int AS ready,
       count(*) FILTER (WHERE state IN ('leased', 'running'))::int AS running
     FROM tasks WHERE state IN ('ready', 'leased', 'running') GROUP BY pool`,
  );
  return r.rows;
}
