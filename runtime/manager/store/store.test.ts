import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlannedTask } from "../../engine/types.js";
import { createTestDatabase } from "../../../test/support/db.js";
import {
  cancelJob,
  createDb,
  finishAttempt,
  getJob,
  insertCoordinator,
  insertJob,
  IdempotencyConflictError,
  leaseTasks,
  listAudit,
  listJobs,
  listJobTasks,
  markConnected,
  markStarted,
  readyTasks,
  decodeCursor,
  type Db,
} from "./index.js";

let db: Db;
let drop: () => Promise<void>;

beforeAll(async () => {
  const t = await createTestDatabase("store");
  drop = t.drop;
  db = createDb(t.url);
  await insertCoordinator(db, { id: "c1", region: "local", hostname: "h", certSerial: "1", certNotAfter: new Date(Date.now() + 3600e3) });
  await markConnected(db, "c1", "replica-a", "h", {
    cpuMillis: 4000,
    memoryMb: 8000,
    gpus: 0,
    engines: [],
    pools: [],
    capacityType: "local",
    instanceType: "",
    detail: {},
  });
});
afterAll(async () => {
  await db.end();
  await drop();
});

const req = { cpuMillis: 1000, memoryMb: 512, gpus: 0 };
function plan(): PlannedTask[] {
  return [
    { key: "probe", kind: "probe", pool: "probe", requirements: req, dependsOn: [], maxAttempts: 3, spec: {} },
    { key: "encode:a", kind: "encode", pool: "encode", requirements: req, dependsOn: ["probe"], maxAttempts: 2, spec: { r: "a" } },
    {
      key: "encode:b",
      kind: "encode",
      pool: "encode",
      requirements: req,
      dependsOn: ["probe"],
      maxAttempts: 2,
      spec: { r: "b" },
      optional: true,
    },
    { key: "package", kind: "package", pool: "package", requirements: req, dependsOn: ["encode:a", "encode:b"], maxAttempts: 3, spec: {} },
  ];
}
const submit = (tenant = "acme", idem?: string, hash?: string) =>
  insertJob(db, {
    tenant,
    priority: 50,
    composition: { x: 1 },
    engine: { name: "ffmpeg", version: "5.1" },
    tasks: plan(),
    idempotencyKey: idem,
    requestHash: hash,
  });

async function leaseAll() {
  const ready = await readyTasks(db, 100);
  return leaseTasks(
    db,
    ready.map((t) => ({ taskId: t.id, coordinatorId: "c1" })),
  );
}

describe("job store", () => {
  it("walks a DAG: dependents become ready only when their dependencies finish", async () => {
    const { job } = await submit();
    let tasks = await listJobTasks(db, job.id);
    expect(tasks.find((t) => t.key === "probe")!.state).toBe("ready");
    expect(tasks.find((t) => t.key === "package")!.state).toBe("blocked");
    expect(tasks.find((t) => t.key === "package")!.dependsOn).toEqual(["encode:a", "encode:b"]);

    const [probe] = (await leaseAll()).filter((l) => l.jobId === job.id);
    expect(probe!.attempt).toBe(1);
    expect((await getJob(db, "acme", job.id))!.state).toBe("running");
    expect(await markStarted(db, { taskId: probe!.id, epoch: probe!.epoch })).toBe("ok");
    const done = await finishAttempt(db, { taskId: probe!.id, epoch: probe!.epoch, outcome: "succeeded", result: { height: 720 } });
    expect(done).toMatchObject({ status: "ok", taskState: "succeeded", jobSettled: false });
    tasks = await listJobTasks(db, job.id);
    expect(
      tasks
        .filter((t) => t.state === "ready")
        .map((t) => t.key)
        .sort(),
    ).toEqual(["encode:a", "encode:b"]);
  });

  it("refuses a report carrying a stale epoch and changes nothing", async () => {
    const { job } = await submit();
    const [l] = (await leaseAll()).filter((x) => x.jobId === job.id);
    const stale = await finishAttempt(db, { taskId: l!.id, epoch: l!.epoch - 1, outcome: "succeeded" });
    expect(stale.status).toBe("stale");
    expect(await markStarted(db, { taskId: l!.id, epoch: l!.epoch + 1000 })).toBe("stale");
    const t = (await listJobTasks(db, job.id)).find((x) => x.key === "probe")!;
    expect(t.state).toBe("leased");
  });

  it("retries a failed task with a new attempt and epoch, then fails the job when attempts run out", async () => {
    const { job } = await submit();
    let [l] = (await leaseAll()).filter((x) => x.jobId === job.id);
    await finishAttempt(db, { taskId: l!.id, epoch: l!.epoch, outcome: "succeeded" });
    const enc = (await leaseAll()).filter((x) => x.jobId === job.id);
    const keyOf = async (id: string) => (await listJobTasks(db, job.id)).find((t) => t.id === id)!.key;
    const encA = (await keyOf(enc[0]!.id)) === "encode:a" ? enc[0]! : enc[1]!;
    const r1 = await finishAttempt(db, { taskId: encA.id, epoch: encA.epoch, outcome: "failed", error: "boom" });
    expect(r1.taskState).toBe("ready");
    await db.query("UPDATE tasks SET not_before = now() WHERE id = $1", [encA.id]); // skip the backoff
    [l] = (await leaseAll()).filter((x) => x.id === encA.id);
    expect(l!.attempt).toBe(2);
    expect(l!.epoch).toBeGreaterThan(encA.epoch);
    const r2 = await finishAttempt(db, { taskId: l!.id, epoch: l!.epoch, outcome: "failed", error: "boom again" });
    expect(r2.taskState).toBe("failed");
    expect(r2.cancelled!.map((c) => c.taskId)).toContain(enc.find((x) => x.id !== encA.id)!.id);
    expect(r2.jobSettled).toBe(true);
    const audit = await listAudit(db, "acme", job.id);
    expect(audit.filter((x) => x.kind === "task.retry")).toHaveLength(1);
  });

  it("hands on a failed optional task so the package step still runs", async () => {
    const { job } = await submit();
    const [p] = (await leaseAll()).filter((x) => x.jobId === job.id);
    await finishAttempt(db, { taskId: p!.id, epoch: p!.epoch, outcome: "succeeded" });
    const tasks = await listJobTasks(db, job.id);
    const idB = tasks.find((t) => t.key === "encode:b")!.id;
    const idA = tasks.find((t) => t.key === "encode:a")!.id;
    const leased = (await leaseAll()).filter((x) => x.jobId === job.id);
    const b = leased.find((x) => x.id === idB)!;
    const a = leased.find((x) => x.id === idA)!;
    await finishAttempt(db, { taskId: b.id, epoch: b.epoch, outcome: "failed-permanent", error: "encoder exploded" });
    await finishAttempt(db, { taskId: a.id, epoch: a.epoch, outcome: "succeeded" });
    const pkg = (await listJobTasks(db, job.id)).find((t) => t.key === "package")!;
    expect(pkg.state).toBe("ready");
  });

  it("honours idempotency keys: same body returns the same job, a different body conflicts", async () => {
    const first = await submit("acme", "k-1", "h1");
    const again = await submit("acme", "k-1", "h1");
    expect(again.created).toBe(false);
    expect(again.job.id).toBe(first.job.id);
    await expect(submit("acme", "k-1", "h2")).rejects.toBeInstanceOf(IdempotencyConflictError);
    const other = await submit("globex", "k-1", "h2");
    expect(other.created).toBe(true);
  });

  it("keeps tenants apart and pages with an opaque cursor", async () => {
    for (let i = 0; i < 3; i++) await submit("pager");
    const p1 = await listJobs(db, "pager", { limit: 2 });
    expect(p1.jobs).toHaveLength(2);
    const p2 = await listJobs(db, "pager", { limit: 2, cursor: decodeCursor(p1.nextCursor!) });
    expect(p2.jobs).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
    expect(new Set([...p1.jobs, ...p2.jobs].map((j) => j.id)).size).toBe(3);
    expect(await getJob(db, "globex", p1.jobs[0]!.id)).toBeUndefined();
  });

  it("cancels running attempts and refuses their later reports", async () => {
    const { job } = await submit();
    const [l] = (await leaseAll()).filter((x) => x.jobId === job.id);
    const c = await cancelJob(db, "acme", job.id, "user asked");
    expect(c).not.toBe("not-found");
    expect((c as { running: unknown[] }).running).toHaveLength(1);
    expect((await finishAttempt(db, { taskId: l!.id, epoch: l!.epoch, outcome: "succeeded" })).status).toBe("stale");
    expect((await getJob(db, "acme", job.id))!.state).toBe("cancelled");
    expect(await cancelJob(db, "globex", job.id, "x")).toBe("not-found");
  });

  it("keeps the audit append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const { job } = await submit();
    const before = await listAudit(db, "acme", job.id);
    expect(before.length).toBeGreaterThan(0);
    await expect(db.query("UPDATE audit SET kind = 'forged' WHERE job_id = $1", [job.id])).rejects.toThrow(/append-only/);
    await expect(db.query("DELETE FROM audit WHERE job_id = $1", [job.id])).rejects.toThrow(/append-only/);
    await expect(db.query("TRUNCATE audit")).rejects.toThrow(/append-only/);
    expect(await listAudit(db, "acme", job.id)).toEqual(before);
  });
});
