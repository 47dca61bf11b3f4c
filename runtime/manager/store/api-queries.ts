// Read queries the REST API needs beyond the job store's own.
import type { Queryable } from "./db.js";

/** Mean task progress per job (0..1), for job listings; jobs without tasks are left out. */
export async function jobsProgress(db: Queryable, jobIds: string[]): Promise<Map<string, number>> {
  if (jobIds.length === 0) return new Map();
  const r = await db.query<{ jobId: string; progress: number }>(
    `SELECT job_id AS "jobId", avg(CASE WHEN state IN ('succeeded', 'skipped') THEN 1 ELSE progress END)::float8 AS progress
     FROM tasks WHERE job_id = ANY($1::uuid[]) GROUP BY job_id`,
    [jobIds],
  );
  return new Map(r.rows.map((x) => [x.jobId, x.progress]));
}

/** One round trip to the database, for readiness checks. */
export async function ping(db: Queryable): Promise<void> {
  await db.query("SELECT 1");
}

/** The server's durability settings, so a benchmark can say what its commits cost. */
export async function commitSettings(db: Queryable): Promise<{ fsync: string; synchronousCommit: string; walSync: string }> {
  const r = await db.query<{ fsync: string; synchronousCommit: string; walSync: string }>(
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS "synchronousCommit",
       current_setting('wal_sync_method') AS "walSync"`,
  );
  return r.rows[0]!;
}
