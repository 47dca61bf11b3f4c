import type { Json } from "../../engine/types.js";
import type { Db, Queryable } from "./db.js";
import type { AuditInput } from "./audit.js";

export interface ReadyTask {
  id: string;
  pool: string;
  priority: number;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  engineName: string;
  engineVersion: string;
  /** sha256:<hex> of the task's engine image; null for host binaries */
  imageDigest: string | null;
  /** the autoscaler's run-time prediction; null until it has made one */
  predictedSeconds: number | null;
}

/** Ready tasks by priority then age; the scheduler's work list. */
export async function readyTasks(db: Queryable, limit: number): Promise<ReadyTask[]> {
  const r = await db.query<ReadyTask>(
    `SELECT id, pool, priority, cpu_millis AS "cpuMillis", memory_mb AS "memoryMb", gpus,
       engine_name AS "engineName", engine_version AS "engineVersion", NULLIF(split_part(engine_image, '@', 2), '') AS "imageDigest",
       predicted_seconds AS "predictedSeconds"
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
         -- the host may have started draining (spot notice) or gone since the pass read it
         AND EXISTS (SELECT 1 FROM coordinators c WHERE c.id = p.coordinator_id AND c.state = 'connected')
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
  engineImage: string | null;
  deps: Record<string, { state: string; result: Json }>;
}

const ASSIGNMENT_COLUMNS = `t.id, t.job_id AS "jobId", t.tenant, t.key, t.kind, t.pool, t.spec, t.attempt, t.epoch,
  t.cpu_millis AS "cpuMillis", t.memory_mb AS "memoryMb", t.gpus, t.engine_name AS "engineName", t.engine_version AS "engineVersion",
  t.engine_image AS "engineImage", CASE WHEN t.has_deps THEN COALESCE((
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
export async function currentLease(
  db: Queryable,
  ref: LeaseRef,
): Promise<{ jobId: string; tenant: string; attempt: number; coordinatorId: string; state: string } | undefined> {
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
  // crossing a 10% boundary is also an event (task.progress), in the same statement
  const r = await db.query(
    `WITH old AS (
       SELECT id, progress FROM tasks WHERE id = $1 AND epoch = $2 AND state IN ('leased', 'running') FOR UPDATE
     ), upd AS (
       UPDATE tasks t SET progress = $3, progress_detail = $4, state = 'running', started_at = COALESCE(t.started_at, now())
       FROM old WHERE t.id = old.id
       RETURNING t.tenant, t.job_id, t.key, t.attempt, old.progress AS before, t.progress AS after
     ), ev AS (
       INSERT INTO outbox (tenant, job_id, type, payload)
       SELECT tenant, job_id, 'task.progress', jsonb_build_object('task', key, 'attempt', attempt, 'progress', floor(after * 10) / 10)
       FROM upd WHERE floor(after * 10) > floor(before * 10)
     )
     SELECT 1 FROM upd`,
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

/**
 * Applies a worker's result (or the loss of an attempt) under the lease epoch:
 * a report carrying any other epoch is refused as stale and changes nothing.
 * The logic is the `ff_finish_attempt` function (see its migration): one round
 * trip per result.
 */
export async function finishAttempt(db: Queryable, f: FinishInput): Promise<FinishOutcome> {
  const r = await db.query<{ r: FinishOutcome }>("SELECT ff_finish_attempt($1, $2, $3, $4, $5, $6) AS r", [
    f.taskId,
    f.epoch,
    f.outcome,
    JSON.stringify(f.result ?? null),
    f.error ?? null,
    JSON.stringify(f.audit ?? []),
  ]);
  return r.rows[0]!.r;
}

/**
 * Applies many results in one statement and one commit, in the order given.
 * If the batch fails as a whole (a deadlock with another batch), each result
 * is applied on its own instead, so one bad neighbour costs nobody a result.
 */
export async function finishAttempts(db: Queryable, fs: FinishInput[]): Promise<FinishOutcome[]> {
  if (fs.length === 0) return [];
  if (fs.length === 1) return [await finishAttempt(db, fs[0]!)];
  try {
    const r = await db.query<{ r: FinishOutcome }>(
      `SELECT ff_finish_attempt(x.task_id, x.epoch, x.outcome, x.result, x.error, x.audit) AS r
       FROM jsonb_to_recordset($1::jsonb) WITH ORDINALITY AS x(task_id uuid, epoch bigint, outcome text, result jsonb, error text, audit jsonb, ord bigint)
       ORDER BY x.ord`,
      [
        JSON.stringify(
          fs.map((f) => ({
            task_id: f.taskId,
            epoch: f.epoch,
            outcome: f.outcome,
            result: f.result ?? null,
            error: f.error ?? null,
            audit: f.audit ?? [],
          })),
        ),
      ],
    );
    return r.rows.map((x) => x.r);
  } catch {
    const out: FinishOutcome[] = [];
    for (const f of fs) out.push(await finishAttempt(db, f));
    return out;
  }
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
export async function heldAttempts(
  db: Queryable,
  coordinatorId: string,
): Promise<{ taskId: string; attempt: number; epoch: number; state: string }[]> {
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
