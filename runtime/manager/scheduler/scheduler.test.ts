// One scheduling pass on a real PostgreSQL: the prediction the autoscaler
// recorded on each task and the capacity type each host reported reach
// placement, so a long task lands on the on-demand host and a short one keeps
// the best fit on spot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlannedTask } from "../../engine/types.js";
import { createTestDatabase } from "../../../test/support/db.js";
import { createDb, insertCoordinator, insertJob, listCoordinatorsWithLoad, markConnected, readyTasks, type Db } from "../store/index.js";
import { recordPredictions } from "../store/autoscaler.js";
import { Scheduler } from "./scheduler.js";

let db: Db;
let url: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  const t = await createTestDatabase("scheduler_capacity");
  drop = t.drop;
  url = t.url;
  db = createDb(t.url);
});
afterAll(async () => {
  await db?.end();
  await drop?.();
});

const encode = (key: string): PlannedTask => ({
  key,
  kind: "probe",
  pool: "encode",
  requirements: { cpuMillis: 4000, memoryMb: 1024, gpus: 0 },
  dependsOn: [],
  maxAttempts: 3,
  spec: {},
});

async function host(id: string, capacityType: "spot" | "on-demand", cpuMillis: number) {
  await insertCoordinator(db, { id, region: "local", hostname: id, certSerial: id, certNotAfter: new Date(Date.now() + 3600e3) });
  await markConnected(db, id, "r", id, {
    cpuMillis,
    memoryMb: 32_768,
    gpus: 0,
    engines: [{ name: "ffmpeg", version: "7.1", encoders: ["libx264"] }],
    pools: [],
    capacityType,
    instanceType: "c7i.2xlarge",
    detail: {},
  });
}

describe("a scheduling pass with predictions and capacity types", () => {
  it("leases a task predicted over 90 minutes to the on-demand host and a short one to the tighter spot host", async () => {
    // the spot host is the tighter fit for either task: best fit alone would put both there
    await host("spot-1", "spot", 4000);
    await host("od-1", "on-demand", 8000);
    await insertJob(db, {
      tenant: "acme",
      priority: 50,
      composition: {},
      engine: { name: "ffmpeg", version: "7.1" },
      tasks: [encode("master"), encode("chunk")],
    });
    const tasks = await readyTasks(db, 10);
    const byKey = new Map<string, string>();
    const keys = await db.query<{ id: string; key: string }>("SELECT id, key FROM tasks WHERE id = ANY($1::uuid[])", [
      tasks.map((t) => t.id),
    ]);
    for (const r of keys.rows) byKey.set(r.key, r.id);
    await recordPredictions(db, [
      { id: byKey.get("master")!, seconds: 3 * 3600, source: "prior" },
      { id: byKey.get("chunk")!, seconds: 600, source: "prior" },
    ]);
    expect((await readyTasks(db, 10)).map((t) => t.predictedSeconds).sort((a, b) => a! - b!)).toEqual([600, 10_800]);

    const s = new Scheduler({ db, dbUrl: url, deliver: async () => {}, finalizeJob: async () => {}, heartbeatTimeoutMs: 15_000 });
    expect((await s.pass()).placed).toBe(2);
    const leased = await db.query<{ key: string; coordinator_id: string }>(
      "SELECT key, coordinator_id FROM tasks WHERE id = ANY($1::uuid[]) ORDER BY key",
      [[...byKey.values()]],
    );
    expect(leased.rows).toEqual([
      { key: "chunk", coordinator_id: "spot-1" },
      { key: "master", coordinator_id: "od-1" },
    ]);
    // the hosts' predicted busy time, as the next pass sees it: the leased tasks' whole predictions
    const load = new Map((await listCoordinatorsWithLoad(db, { liveOnly: true })).map((c) => [c.id, c]));
    expect(load.get("od-1")!.capacityType).toBe("on-demand");
    expect(load.get("od-1")!.busyForSeconds).toBeCloseTo(3 * 3600, 0);
    expect(load.get("spot-1")!.busyForSeconds).toBeCloseTo(600, 0);
  });
});
