// Usage metering: what each job used and produced, by tenant and time window.
// Compute is measured per attempt from the attempts table (its host's instance
// and capacity type were recorded at lease time), as the attempt's share of its
// host (the larger of its CPU and memory share) times its wall time; outputs
// are the succeeded rendition encodes, in minutes of media, by height.
import type { Queryable } from "./db.js";

export interface ComputeUsageRow {
  tenant: string;
  jobId: string;
  instanceType: string;
  capacityType: string;
  /** wall seconds of attempts */
  taskSeconds: number;
  /** wall seconds times the attempt's share of its host: what the host-hours it used amount to */
  hostSeconds: number;
}

export interface OutputUsageRow {
  tenant: string;
  jobId: string;
  height: number;
  minutes: number;
}

const WINDOW = `j.created_at >= $1 AND j.created_at < $2 AND ($3::text IS NULL OR j.tenant = $3) AND ($4::uuid IS NULL OR j.id = $4)`;

export async function computeUsage(
  db: Queryable,
  q: { from: Date; to: Date; tenant?: string; jobId?: string },
): Promise<ComputeUsageRow[]> {
  const r = await db.query<ComputeUsageRow>(
    `SELECT j.tenant, j.id AS "jobId", COALESCE(a.instance_type, c.instance_type, '') AS "instanceType",
       COALESCE(a.capacity_type, c.capacity_type, 'unknown') AS "capacityType",
       sum(extract(epoch FROM COALESCE(a.finished_at, now()) - a.started_at))::float8 AS "taskSeconds",
       sum(extract(epoch FROM COALESCE(a.finished_at, now()) - a.started_at)
           * GREATEST(t.cpu_millis::float8 / NULLIF(c.cpu_millis, 0), t.memory_mb::float8 / NULLIF(c.memory_mb, 0), 0))::float8 AS "hostSeconds"
     FROM attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
     LEFT JOIN coordinators c ON c.id = a.coordinator_id
     WHERE a.started_at IS NOT NULL AND ${WINDOW}
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
    [q.from, q.to, q.tenant ?? null, q.jobId ?? null],
  );
  return r.rows;
}

export async function outputUsage(db: Queryable, q: { from: Date; to: Date; tenant?: string; jobId?: string }): Promise<OutputUsageRow[]> {
  const r = await db.query<OutputUsageRow>(
    `WITH probe AS (
       SELECT DISTINCT ON (p.job_id) p.job_id, (p.result->>'duration')::float8 AS seconds
       FROM tasks p WHERE p.kind = 'probe' AND p.state = 'succeeded'
     ), renditions AS (
       SELECT DISTINCT t.job_id, t.spec->'rendition'->>'name' AS name, (t.spec->'rendition'->>'height')::int AS height
       FROM tasks t WHERE t.kind IN ('encode', 'encode-chunk') AND t.state = 'succeeded' AND t.spec->'rendition' ? 'height'
     )
     SELECT j.tenant, j.id AS "jobId", r.height, sum(probe.seconds / 60)::float8 AS minutes
     FROM renditions r JOIN probe ON probe.job_id = r.job_id JOIN jobs j ON j.id = r.job_id
     WHERE ${WINDOW}
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [q.from, q.to, q.tenant ?? null, q.jobId ?? null],
  );
  return r.rows;
}
