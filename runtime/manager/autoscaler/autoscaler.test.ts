// The autoscaler loop on a real PostgreSQL with the simulated provider: it
// predicts, launches for waiting work, records the capacity type on the task,
// never stops a busy host, retires an idle one through drain, and holds the budget.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlannedTask } from "../../engine/types.js";
import { createTestDatabase } from "../../../test/support/db.js";
import { createDb, finishAttempt, insertCoordinator, insertJob, leaseTasks, markConnected, readyTasks, type Db } from "../store/index.js";
import { recentDecisions } from "../store/autoscaler.js";
import { SimulatedFleetProvider } from "../fleet/simulated.js";
import { Autoscaler } from "./autoscaler.js";
import type { HostGroupSpec, WorkerPoolSpec } from "./policy.js";

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  const t = await createTestDatabase("autoscaler");
  drop = t.drop;
  db = createDb(t.url);
});
afterAll(async () => {
  await db?.end();
  await drop?.();
});

const groups: HostGroupSpec[] = [
  {
    name: "cpu-spot",
    pool: "cpu",
    capacityType: "spot",
    instanceType: "c7i.4xlarge",
    taskPools: [],
    cpuMillis: 16_000,
    memoryMb: 32_768,
    gpus: 0,
    pricePerHour: 0.27,
    maxSize: 10,
  },
  {
    name: "cpu-od",
    pool: "cpu",
    capacityType: "on-demand",
    instanceType: "c7i.4xlarge",
    taskPools: [],
    cpuMillis: 16_000,
    memoryMb: 32_768,
    gpus: 0,
    pricePerHour: 0.714,
    maxSize: 10,
  },
];
const pools: WorkerPoolSpec[] = [{ name: "cpu", onDemandBase: 0, maxSize: 10 }];

function onlyProbe(): PlannedTask[] {
  return [
    {
      key: "probe",
      kind: "probe",
      pool: "probe",
      requirements: { cpuMillis: 500, memoryMb: 256, gpus: 0 },
      dependsOn: [],
      maxAttempts: 3,
      spec: {},
    },
  ];
}

async function unplaced() {
  return (await readyTasks(db, 100)).map((t) => ({
    id: t.id,
    pool: t.pool,
    cpuMillis: t.cpuMillis,
    memoryMb: t.memoryMb,
    gpus: t.gpus,
    engineName: t.engineName,
    engineVersion: t.engineVersion,
  }));
}

describe("the autoscaler loop", () => {
  it("launches for waiting work, keeps a busy host, and drains and terminates it once idle", async () => {
    let now = Date.now();
    const provider = new SimulatedFleetProvider(
      { "cpu-spot": { max: 10, pricePerHour: 0.27 }, "cpu-od": { max: 10, pricePerHour: 0.714 } },
      () => now,
      () => 30_000,
    );
    const drained: string[] = [];
    const a = new Autoscaler({
      db,
      provider,
      groups,
      pools,
      // one idle host in reserve sits out the cool-down (with none, a lone idle host goes at once)
      policy: { idleReserve: 1 },
      drain: (id) => {
        drained.push(id);
        return true;
      },
      now: () => now,
    });

    const { job } = await insertJob(db, {
      tenant: "acme",
      priority: 50,
      composition: {},
      engine: { name: "ffmpeg", version: "7.1" },
      tasks: onlyProbe(),
    });
    const d1 = await a.tick(await unplaced());
    expect(d1).toContainEqual(expect.objectContaining({ action: "launch", group: "cpu-spot", count: 1 }));
    expect(provider.calls).toContainEqual({ op: "setDesiredCapacity", group: "cpu-spot", arg: 1 });
    const pred = await db.query<{ predicted_seconds: number; prediction_source: string }>(
      "SELECT predicted_seconds, prediction_source FROM tasks WHERE job_id = $1",
      [job.id],
    );
    expect(pred.rows[0]!.predicted_seconds).toBeGreaterThan(0);
    expect(pred.rows[0]!.prediction_source).toBe("prior");
    expect((await recentDecisions(db)).find((r) => r.action === "launch")!.reason).toMatch(/fits no running host.*spot/);

    // while it boots, nothing more is launched for the same task
    now += 10_000;
    expect((await a.tick(await unplaced())).filter((d) => d.action === "launch")).toEqual([]);

    // the host boots and joins (its hostname is its instance id), and the task is leased to it
    now += 30_000;
    const instance = provider.live("cpu-spot")[0]!.id;
    await insertCoordinator(db, {
      id: "coord-1",
      region: "local",
      hostname: instance,
      certSerial: "1",
      certNotAfter: new Date(Date.now() + 3600e3),
    });
    await markConnected(db, "coord-1", "r", instance, {
      cpuMillis: 16_000,
      memoryMb: 32_768,
      gpus: 0,
      engines: [],
      pools: [],
      capacityType: "spot",
      instanceType: "c7i.4xlarge",
      detail: {},
    });
    const [leased] = await leaseTasks(db, [{ taskId: (await unplaced())[0]!.id, coordinatorId: "coord-1" }]);
    expect(leased).toBeDefined();

    // busy, long past any cool-down: never drained, never terminated
    now += 3_600_000;
    const busy = await a.tick([]);
    expect(busy.filter((d) => d.action === "drain" || d.action === "terminate")).toEqual([]);
    expect(provider.calls.filter((c) => c.op === "terminateInstance")).toEqual([]);
    // the capacity type of the host that runs it is on the task
    const cap = await db.query<{ capacity_type: string; instance_type: string }>(
      "SELECT capacity_type, instance_type FROM tasks WHERE id = $1",
      [leased!.id],
    );
    expect(cap.rows[0]).toEqual({ capacity_type: "spot", instance_type: "c7i.4xlarge" });

    // the task ends; once idle past the cool-down the host is drained and terminated
    await finishAttempt(db, { taskId: leased!.id, epoch: leased!.epoch, outcome: "succeeded", result: {} });
    now += 10_000;
    expect((await a.tick([])).filter((d) => d.action === "drain")).toEqual([]); // idle, but not for long enough
    now += 120_000;
    const idle = await a.tick([]);
    expect(idle).toContainEqual(expect.objectContaining({ action: "drain", hostId: instance }));
    expect(drained).toEqual(["coord-1"]);
    expect(provider.calls).toContainEqual({ op: "terminateInstance", group: "cpu-spot", arg: instance });
    expect(provider.live()).toEqual([]);
    const c = await db.query<{ state: string }>("SELECT state FROM coordinators WHERE id = 'coord-1'");
    expect(c.rows[0]!.state).toBe("gone");
  });

  it("holds the budget cap and records why", async () => {
    const provider = new SimulatedFleetProvider(
      { "cpu-spot": { max: 10, pricePerHour: 0.27 }, "cpu-od": { max: 10, pricePerHour: 0.714 } },
      () => Date.now(),
    );
    const a = new Autoscaler({ db, provider, groups, pools, drain: () => true, policy: { budgetPerHour: 0.2 } });
    await insertJob(db, { tenant: "acme", priority: 50, composition: {}, engine: { name: "ffmpeg", version: "7.1" }, tasks: onlyProbe() });
    const d = await a.tick(await unplaced());
    expect(d.filter((x) => x.action === "launch")).toEqual([]);
    expect(provider.calls.filter((c) => c.op === "setDesiredCapacity")).toEqual([]);
    expect((await recentDecisions(db, 5)).find((r) => r.action === "hold")!.reason).toMatch(/budget cap/);
    // the decision log is append-only
    await expect(db.query("DELETE FROM autoscaler_decisions")).rejects.toThrow(/append-only/);
  });
});
