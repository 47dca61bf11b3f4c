// The autoscaler's SQL: the fleet's state as the policy needs it, predictions
// and placements recorded on tasks, spot notices on coordinators, and the
// append-only record of scaling decisions.
import type { Json } from "../../engine/types.js";
import type { Queryable } from "./db.js";

export interface FleetHostRow {
  id: string;
  hostname: string;
  state: string;
  pools: string[];
  capacityType: string;
  instanceType: string;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  usedCpuMillis: number;
  usedMemoryMb: number;
  usedGpus: number;
  runningTasks: number;
  /** predicted seconds until its first leased or running task ends; null when none has a prediction */
  nextEndSeconds: number | null;
  /** when its last attempt ended, or when it joined: the start of its idle time */
  lastActivity: Date;
  interruptedAt: Date | null;
}

/** Coordinators that are not gone, with their load and when they last had work. */
export async function fleetHosts(db: Queryable): Promise<FleetHostRow[]> {
  const r = await db.query<FleetHostRow>(
    `SELECT c.id, c.hostname, c.state, c.pools, c.capacity_type AS "capacityType", c.instance_type AS "instanceType",
       c.cpu_millis AS "cpuMillis", c.memory_mb::bigint AS "memoryMb", c.gpus,
       COALESCE(l.cpu, 0)::int AS "usedCpuMillis", COALESCE(l.mem, 0)::bigint AS "usedMemoryMb", COALESCE(l.gpus, 0)::int AS "usedGpus",
       COALESCE(l.n, 0)::int AS "runningTasks", l.next_end AS "nextEndSeconds",
       GREATEST(c.joined_at, COALESCE((SELECT max(a.finished_at) FROM attempts a WHERE a.coordinator_id = c.id), c.joined_at)) AS "lastActivity",
       c.interrupted_at AS "interruptedAt"
     FROM coordinators c
     LEFT JOIN (
       SELECT coordinator_id, sum(cpu_millis) AS cpu, sum(memory_mb) AS mem, sum(gpus) AS gpus, count(*) AS n,
         -- a task without a prediction is left out: the earliest known end is a bound that only errs late
         min(GREATEST(0, predicted_seconds - extract(epoch FROM now() - COALESCE(started_at, now()))))::float8 AS next_end
       FROM tasks WHERE state IN ('leased', 'running') GROUP BY coordinator_id
     ) l ON l.coordinator_id = c.id
     WHERE c.state <> 'gone'
     ORDER BY c.id`,
  );
  return r.rows.map((x) => ({ ...x, memoryMb: Number(x.memoryMb), usedMemoryMb: Number(x.usedMemoryMb) }));
}

export interface UnpredictedTask {
  id: string;
  kind: string;
  pool: string;
  gpus: number;
  engineName: string;
  spec: Json;
  probe: Json;
}

/** Ready or blocked-on-nothing tasks without a prediction yet, with their job's probe result where it exists. */
export async function tasksWithoutPrediction(db: Queryable, limit: number): Promise<UnpredictedTask[]> {
  const r = await db.query<UnpredictedTask>(
    `SELECT t.id, t.kind, t.pool, t.gpus, t.engine_name AS "engineName", t.spec,
       (SELECT p.result FROM tasks p WHERE p.job_id = t.job_id AND p.kind = 'probe' AND p.state = 'succeeded' LIMIT 1) AS probe
     FROM tasks t WHERE t.state IN ('ready', 'leased') AND t.predicted_seconds IS NULL
     ORDER BY t.ready_at NULLS LAST LIMIT $1`,
    [limit],
  );
  return r.rows;
}

export async function recordPredictions(db: Queryable, rows: { id: string; seconds: number; source: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `UPDATE tasks t SET predicted_seconds = p.seconds, prediction_source = p.source
     FROM jsonb_to_recordset($1::jsonb) AS p(id uuid, seconds real, source text) WHERE t.id = p.id`,
    [JSON.stringify(rows)],
  );
}

/** Copies each live attempt's capacity and instance type (set at lease time) onto its task. */
export async function recordTaskCapacity(db: Queryable): Promise<number> {
  const r = await db.query(
    `UPDATE tasks t SET capacity_type = a.capacity_type, instance_type = a.instance_type
     FROM attempts a
     WHERE a.task_id = t.id AND a.attempt = t.attempt AND t.state IN ('leased', 'running', 'succeeded', 'failed')
       AND a.capacity_type IS NOT NULL AND t.capacity_type IS DISTINCT FROM a.capacity_type`,
  );
  return r.rowCount ?? 0;
}

export interface FinishedSample {
  kind: string;
  pool: string;
  gpus: number;
  engineName: string;
  spec: Json;
  probe: Json;
  runSeconds: number;
}

/** Recently finished attempts with their run time: the predictor's history. */
export async function finishedSamples(db: Queryable, since: Date, limit: number): Promise<FinishedSample[]> {
  const r = await db.query<FinishedSample>(
    `SELECT t.kind, t.pool, t.gpus, t.engine_name AS "engineName", t.spec,
       (SELECT p.result FROM tasks p WHERE p.job_id = t.job_id AND p.kind = 'probe' AND p.state = 'succeeded' LIMIT 1) AS probe,
       extract(epoch FROM a.finished_at - a.started_at)::float8 AS "runSeconds"
     FROM attempts a JOIN tasks t ON t.id = a.task_id
     WHERE a.state = 'succeeded' AND a.started_at IS NOT NULL AND a.finished_at > $1
     ORDER BY a.finished_at LIMIT $2`,
    [since, limit],
  );
  return r.rows;
}

/** A coordinator reported a spot interruption notice: first report wins. */
export async function markInterrupted(db: Queryable, coordinatorId: string, notice: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE coordinators SET interrupted_at = now(), interruption_notice = $2, state = CASE WHEN state = 'connected' THEN 'draining' ELSE state END
     WHERE id = $1 AND interrupted_at IS NULL`,
    [coordinatorId, notice.slice(0, 4000)],
  );
  return (r.rowCount ?? 0) > 0;
}

export interface DecisionRecord {
  pool: string;
  action: "launch" | "drain" | "terminate" | "hold" | "error";
  hostGroup?: string;
  hostId?: string;
  count?: number;
  reason: string;
  data?: Json;
}

export async function recordDecisions(db: Queryable, rows: DecisionRecord[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO autoscaler_decisions (pool, action, host_group, host_id, count, reason, data)
     SELECT pool, action, host_group, host_id, count, reason, COALESCE(data, '{}'::jsonb)
     FROM jsonb_to_recordset($1::jsonb) AS d(pool text, action text, host_group text, host_id text, count int, reason text, data jsonb)`,
    [
      JSON.stringify(
        rows.map((d) => ({
          pool: d.pool,
          action: d.action,
          host_group: d.hostGroup ?? null,
          host_id: d.hostId ?? null,
          count: d.count ?? null,
          reason: d.reason,
          data: d.data ?? {},
        })),
      ),
    ],
  );
}

export async function recentDecisions(db: Queryable, limit = 100): Promise<(DecisionRecord & { at: Date })[]> {
  const r = await db.query<DecisionRecord & { at: Date }>(
    `SELECT at, pool, action, host_group AS "hostGroup", host_id AS "hostId", count, reason, data
     FROM autoscaler_decisions ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return r.rows;
}

/** Predictions of the given tasks (the scheduler's unplaced list), by id. */
export async function predictionsFor(
  db: Queryable,
  ids: string[],
): Promise<Map<string, { predictedSeconds: number | null; readyAt: Date | null }>> {
  if (ids.length === 0) return new Map();
  const r = await db.query<{ id: string; predictedSeconds: number | null; readyAt: Date | null }>(
    `SELECT id, predicted_seconds AS "predictedSeconds", ready_at AS "readyAt" FROM tasks WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(r.rows.map((x) => [x.id, x]));
}

export interface BillableHost {
  id: string;
  pools: string[];
  instanceType: string;
  capacityType: string;
  /** seconds it ran in (since, now]: from the later of `since` and when it joined */
  seconds: number;
}

/**
 * Hosts that are not gone and how long each has run since `since` (null: none
 * yet), with the database's clock for the next call, so the cost meter's
 * intervals neither overlap nor leave gaps.
 */
export async function billableHosts(db: Queryable, since: Date | null): Promise<{ now: Date; hosts: BillableHost[] }> {
  const r = await db.query<BillableHost & { now: Date }>(
    `SELECT now() AS now, c.id, c.pools, c.instance_type AS "instanceType", c.capacity_type AS "capacityType",
       GREATEST(0, extract(epoch FROM now() - GREATEST(COALESCE($1::timestamptz, now()), c.joined_at)))::float8 AS seconds
     FROM (SELECT 1) one LEFT JOIN coordinators c ON c.state <> 'gone'`,
    [since],
  );
  const now = r.rows[0]!.now;
  return { now, hosts: r.rows.filter((x) => x.id !== null).map(({ now: _now, ...h }) => h) };
}
