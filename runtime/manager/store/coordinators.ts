import type { Json } from "../../engine/types.js";
import type { Queryable } from "./db.js";

export interface CoordinatorCapacity {
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  engines: { name: string; version: string; encoders: string[]; imageDigest?: string }[];
  pools: string[];
  capacityType: string;
  instanceType: string;
  detail: Json;
  /** runs engines as images and can pull any registered one (Capacity.pulls_images) */
  pullsImages?: boolean;
}

export interface CoordinatorRow {
  id: string;
  region: string;
  hostname: string;
  state: string;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  engines: CoordinatorCapacity["engines"];
  pools: string[];
  capacityType: string;
  instanceType: string;
  pullsImages: boolean;
  connectedTo: string | null;
  lastHeartbeat: Date | null;
  joinedAt: Date;
  certNotAfter: Date | null;
}

const COLUMNS = `id, region, hostname, state, cpu_millis AS "cpuMillis", memory_mb AS "memoryMb", gpus, engines, pools,
  capacity_type AS "capacityType", instance_type AS "instanceType", pulls_images AS "pullsImages", connected_to AS "connectedTo",
  last_heartbeat AS "lastHeartbeat", joined_at AS "joinedAt", cert_not_after AS "certNotAfter"`;

export async function insertCoordinator(
  db: Queryable,
  c: { id: string; region: string; hostname: string; certSerial: string; certNotAfter: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO coordinators (id, region, hostname, state, cert_serial, cert_not_after) VALUES ($1, $2, $3, 'joined', $4, $5)`,
    [c.id, c.region, c.hostname, c.certSerial, c.certNotAfter],
  );
}

export async function updateCoordinatorCertificate(db: Queryable, id: string, serial: string, notAfter: Date): Promise<void> {
  await db.query("UPDATE coordinators SET cert_serial = $2, cert_not_after = $3 WHERE id = $1", [id, serial, notAfter]);
}

/** A coordinator said hello on a stream held by manager replica `replica`. */
export async function markConnected(
  db: Queryable,
  id: string,
  replica: string,
  hostname: string,
  cap: CoordinatorCapacity,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE coordinators SET state = 'connected', connected_to = $2, hostname = $3, cpu_millis = $4, memory_mb = $5, gpus = $6,
       engines = $7, pools = $8, capacity_type = $9, instance_type = $10, capacity = $11, pulls_images = $12, last_heartbeat = now()
     WHERE id = $1 AND state <> 'gone'`,
    [
      id,
      replica,
      hostname,
      cap.cpuMillis,
      cap.memoryMb,
      cap.gpus,
      JSON.stringify(cap.engines),
      cap.pools,
      cap.capacityType,
      cap.instanceType,
      JSON.stringify(cap.detail),
      cap.pullsImages ?? false,
    ],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function heartbeat(db: Queryable, id: string, draining: boolean): Promise<void> {
  await db.query(
    `UPDATE coordinators SET last_heartbeat = now(), state = CASE WHEN $2 THEN 'draining' ELSE state END
     WHERE id = $1 AND state IN ('connected', 'draining')`,
    [id, draining],
  );
}

export async function markDisconnected(db: Queryable, id: string, replica: string): Promise<void> {
  await db.query(
    `UPDATE coordinators SET state = 'disconnected', connected_to = NULL WHERE id = $1 AND connected_to = $2 AND state IN ('connected', 'draining')`,
    [id, replica],
  );
}

export async function markGone(db: Queryable, id: string): Promise<void> {
  await db.query("UPDATE coordinators SET state = 'gone', connected_to = NULL WHERE id = $1", [id]);
}

/**
 * Coordinators whose last heartbeat is older than the timeout, connected or not:
 * their attempts are requeued. Marked gone so a late reconnect is refused and
 * the host must rejoin.
 */
export async function expireCoordinators(db: Queryable, timeoutMs: number): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `UPDATE coordinators SET state = 'gone', connected_to = NULL
     WHERE state IN ('connected', 'disconnected', 'draining', 'joined')
       AND COALESCE(last_heartbeat, joined_at) < now() - make_interval(secs => $1::double precision / 1000)
     RETURNING id`,
    [timeoutMs],
  );
  return r.rows.map((x) => x.id);
}

/** Retired coordinators still holding attempts (retired by the fleet, or expired mid-requeue): their work must move. */
export async function goneCoordinatorsWithWork(db: Queryable): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `SELECT DISTINCT t.coordinator_id AS id FROM tasks t JOIN coordinators c ON c.id = t.coordinator_id
     WHERE t.state IN ('leased', 'running') AND c.state = 'gone'`,
  );
  return r.rows.map((x) => x.id);
}

export async function getCoordinator(db: Queryable, id: string): Promise<CoordinatorRow | undefined> {
  const r = await db.query<CoordinatorRow>(`SELECT ${COLUMNS} FROM coordinators WHERE id = $1`, [id]);
  return r.rows[0];
}

export interface CoordinatorWithLoad extends CoordinatorRow {
  usedCpuMillis: number;
  usedMemoryMb: number;
  usedGpus: number;
  runningTasks: number;
  /**
   * predicted seconds until its leased and running tasks have all ended (0: none); null while one
   * of them has no prediction
   */
  busyForSeconds: number | null;
}

/** Live coordinators with what their leased and running attempts use: the scheduler's view of free capacity. */
export async function listCoordinatorsWithLoad(db: Queryable, opts: { liveOnly: boolean }): Promise<CoordinatorWithLoad[]> {
  const r = await db.query<CoordinatorWithLoad>(
    `SELECT ${COLUMNS.split(",")
      .map((c) => "c." + c.trim())
      .join(", ")},
       COALESCE(l.cpu, 0)::int AS "usedCpuMillis", COALESCE(l.mem, 0)::bigint AS "usedMemoryMb",
       COALESCE(l.gpus, 0)::int AS "usedGpus", COALESCE(l.n, 0)::int AS "runningTasks",
       CASE WHEN l.coordinator_id IS NULL THEN 0 ELSE l.busy END AS "busyForSeconds"
     FROM coordinators c
     LEFT JOIN (
       SELECT coordinator_id, sum(cpu_millis) AS cpu, sum(memory_mb) AS mem, sum(gpus) AS gpus, count(*) AS n,
         -- a leased task has not started: it has all its predicted time ahead of it
         CASE WHEN bool_or(predicted_seconds IS NULL) THEN NULL
           ELSE max(GREATEST(0, predicted_seconds - extract(epoch FROM now() - COALESCE(started_at, now()))))::float8 END AS busy
       FROM tasks WHERE state IN ('leased', 'running') GROUP BY coordinator_id
     ) l ON l.coordinator_id = c.id
     WHERE ($1::boolean = false AND c.state <> 'gone') OR c.state = 'connected'
     ORDER BY c.id`,
    [opts.liveOnly],
  );
  return r.rows;
}
