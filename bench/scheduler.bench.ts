// npm run bench:scheduler
//
// The real scheduler (placement, leasing, the store's SQL) against a real,
// durable PostgreSQL, with 200 simulated coordinators and a no-op task kind.
// Simulated: the coordinators (rows that are "connected", with capacity) and
// the workers (each leased attempt is reported finished through the same store
// call the gRPC worker handler makes, after a short hold); no gRPC, no
// processes, no ffmpeg. What is measured is the control plane's own cost.
//
// Baseline, measured in the same run on the same database: the common
// "claim one task per query" queue (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1,
// then UPDATE) used by many job queues, driven by the same simulated fleet.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres } from "../runtime/manager/store/embedded.js";
import {
  createDb,
  finishAttempt,
  insertCoordinator,
  insertJob,
  markConnected,
  migrate,
  type Db,
  type LeasedTask,
} from "../runtime/manager/store/index.js";
import { Scheduler } from "../runtime/manager/scheduler/scheduler.js";
import { FinishBatcher } from "../runtime/manager/rpc/finish-batcher.js";
import type { PlannedTask } from "../runtime/engine/types.js";

const COORDINATORS = Number(process.env.BENCH_COORDINATORS ?? 200);
const SLOTS = 8; // no-op tasks per coordinator at once
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 1200); // tasks submitted per second
const TASKS_PER_JOB = 20;
const HOLD_MS = 20; // how long a simulated worker "runs" a no-op task

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const noopTasks = (): PlannedTask[] =>
  Array.from({ length: TASKS_PER_JOB }, (_, i) => ({
    key: `noop:${i}`,
    kind: "noop",
    pool: "encode",
    requirements: { cpuMillis: 1000, memoryMb: 64, gpus: 0 },
    dependsOn: [],
    maxAttempts: 3,
    spec: { ms: HOLD_MS },
  }));

async function setupCoordinators(db: Db, prefix: string): Promise<void> {
  for (let i = 0; i < COORDINATORS; i++) {
    const id = `${prefix}-${i}`;
    await insertCoordinator(db, { id, region: "bench", hostname: id, certSerial: "0", certNotAfter: new Date(Date.now() + 86400e3) });
    await markConnected(db, id, "bench", id, {
      cpuMillis: SLOTS * 1000,
      memoryMb: 64_000,
      gpus: 0,
      engines: [{ name: "ffmpeg", version: "5.1.9", encoders: [] }],
      pools: [],
      capacityType: "simulated",
      instanceType: "sim",
      detail: {},
    });
  }
}

interface Run {
  placed: number;
  completed: number;
  seconds: number;
  startLatencyMs: number[];
}

/** Submits jobs at RATE tasks/s for SECONDS; `drive` places and completes them. */
async function submitLoad(db: Db, onSubmitted: (jobId: string, at: number) => void, stop: () => boolean): Promise<number> {
  const jobsPerSecond = RATE / TASKS_PER_JOB;
  const started = performance.now();
  let submitted = 0;
  const inflight = new Set<Promise<void>>();
  while (performance.now() - started < SECONDS * 1000 && !stop()) {
    const due = Math.floor(((performance.now() - started) / 1000) * jobsPerSecond);
    while (submitted < due && inflight.size < 16) {
      submitted++;
      const at = performance.now();
      const p = insertJob(db, {
        tenant: "bench",
        priority: 50,
        composition: {},
        engine: { name: "ffmpeg", version: "5.1" },
        tasks: noopTasks(),
      }).then(({ job }) => onSubmitted(job.id, at));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
  return submitted * TASKS_PER_JOB;
}

async function runScheduler(url: string): Promise<Run> {
  const db = createDb(url, { max: 24 });
  await setupCoordinators(db, "sched");
  const submittedAt = new Map<string, number>();
  const latencies: number[] = [];
  let placed = 0;
  let completed = 0;
  const finishing = new Set<Promise<unknown>>();
  // results go through the same batcher the gRPC worker handler uses
  const finisher = new FinishBatcher(db);
  const scheduler = new Scheduler({
    db,
    dbUrl: url,
    heartbeatTimeoutMs: 3_600_000,
    idlePassMs: 5,
    finalizeJob: async () => {},
    deliver: async (leased: LeasedTask[]) => {
      const now = performance.now();
      placed += leased.length;
      for (const l of leased) {
        const at = submittedAt.get(l.jobId);
        if (at !== undefined) latencies.push(now - at);
        // the simulated worker runs for HOLD_MS, then reports through the store like the gRPC handler
        const p = new Promise((r) => setTimeout(r, HOLD_MS))
          .then(() => finisher.finish({ taskId: l.id, epoch: l.epoch, outcome: "succeeded", result: {} }))
          .then(() => {
            completed++;
          });
        finishing.add(p);
        void p.finally(() => finishing.delete(p));
      }
    },
  });
  scheduler.start();
  const t0 = performance.now();
  const total = await submitLoad(
    db,
    (id, at) => submittedAt.set(id, at),
    () => false,
  );
  while (completed < total && performance.now() - t0 < (SECONDS + 30) * 1000) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - t0) / 1000;
  await scheduler.stop();
  await Promise.all(finishing);
  await db.end();
  return { placed, completed, seconds, startLatencyMs: latencies };
}

/** The baseline: workers claim one task per query, the way many job queues on PostgreSQL do. */
async function runClaimOneQueue(url: string): Promise<Run> {
  const db = createDb(url, { max: 24 });
  await setupCoordinators(db, "queue");
  const submittedAt = new Map<string, number>();
  const latencies: number[] = [];
  let placed = 0;
  let completed = 0;
  let stopping = false;
  const finishing = new Set<Promise<unknown>>();
  // one poller per free slot would be 1,600 connections; 16 concurrent claimers stand in for them
  const claimers = Array.from({ length: 16 }, (_, n) =>
    (async () => {
      while (!stopping) {
        const coord = `queue-${(n * 7919 + placed) % COORDINATORS}`;
        const r = await db.query<{ id: string; job_id: string; epoch: number }>(
          `WITH c AS (SELECT id FROM tasks WHERE state = 'ready' ORDER BY priority DESC, ready_at LIMIT 1 FOR UPDATE SKIP LOCKED)
         UPDATE tasks t SET state = 'leased', attempt = attempt + 1, epoch = nextval('lease_epoch'), coordinator_id = $1
         FROM c WHERE t.id = c.id RETURNING t.id, t.job_id, t.epoch`,
          [coord],
        );
        const row = r.rows[0];
        if (!row) {
          await new Promise((res) => setTimeout(res, 5));
          continue;
        }
        await db.query("INSERT INTO attempts (task_id, attempt, epoch, coordinator_id, state) VALUES ($1, 1, $2, $3, 'leased')", [
          row.id,
          row.epoch,
          coord,
        ]);
        placed++;
        const at = submittedAt.get(row.job_id);
        if (at !== undefined) latencies.push(performance.now() - at);
        const p = new Promise((res) => setTimeout(res, HOLD_MS))
          .then(() => finishAttempt(db, { taskId: row.id, epoch: row.epoch, outcome: "succeeded", result: {} }))
          .then(() => {
            completed++;
          });
        finishing.add(p);
        void p.finally(() => finishing.delete(p));
      }
    })(),
  );
  const t0 = performance.now();
  const total = await submitLoad(
    db,
    (id, at) => submittedAt.set(id, at),
    () => false,
  );
  while (completed < total && performance.now() - t0 < (SECONDS + 30) * 1000) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - t0) / 1000;
  stopping = true;
  await Promise.all(claimers);
  await Promise.all(finishing);
  await db.end();
  return { placed, completed, seconds, startLatencyMs: latencies };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "framefleet-bench-"));
  fs.chmodSync(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, "data"), persistent: false, database: "postgres" });
  const mk = async (name: string) => {
    const c = createDb(pg.adminUrl, { max: 1 });
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const url = pg.adminUrl.replace(/\/postgres$/, `/${name}`);
    await migrate(url);
    return url;
  };
  try {
    console.log(
      `bench:scheduler — ${COORDINATORS} simulated coordinators × ${SLOTS} slots, ${RATE} no-op tasks/s offered for ${SECONDS} s (${TASKS_PER_JOB} tasks per job), durable PostgreSQL ${os.cpus().length} cores`,
    );
    console.log(
      "simulated: coordinators (connected rows with capacity) and workers (report through the store after a 20 ms hold); real: PostgreSQL, the scheduler, placement, leasing and result handling",
    );
    const ours = await runScheduler(await mk("bench_sched"));
    const base = await runClaimOneQueue(await mk("bench_queue"));
    const line = (name: string, r: Run) =>
      `${name.padEnd(28)} placed ${(r.placed / r.seconds).toFixed(0).padStart(6)} tasks/s   completed ${(r.completed / r.seconds).toFixed(0).padStart(6)} tasks/s   submit-to-start p50 ${pct(r.startLatencyMs, 50).toFixed(1)} ms  p99 ${pct(r.startLatencyMs, 99).toFixed(1)} ms`;
    console.log(line("framefleet scheduler", ours));
    console.log(line("baseline: claim-one queue", base));
    const ratio = ours.completed / ours.seconds / (base.completed / base.seconds);
    console.log(`ratio (framefleet / baseline completed tasks/s): ${ratio.toFixed(2)}`);
    const okRate = ours.completed / ours.seconds >= 1000;
    const okP99 = pct(ours.startLatencyMs, 99) <= 250;
    console.log(`targets: ≥ 1000 tasks/s ${okRate ? "met" : "NOT met"}; p99 submit-to-start ≤ 250 ms ${okP99 ? "met" : "NOT met"}`);
  } finally {
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
