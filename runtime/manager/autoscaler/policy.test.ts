// Each decision rule on a constructed state: no database, no clock.
import { describe, expect, it } from "vitest";
import {
  decide,
  DEFAULT_POLICY,
  occupancy,
  type Decision,
  type HostGroupSpec,
  type HostState,
  type PolicyState,
  type WaitingTask,
} from "./policy.js";

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
    maxSize: 50,
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
    maxSize: 50,
  },
  {
    name: "mem-od",
    pool: "mem",
    capacityType: "on-demand",
    instanceType: "r7i.4xlarge",
    taskPools: [],
    cpuMillis: 16_000,
    memoryMb: 131_072,
    gpus: 0,
    pricePerHour: 1.058,
    maxSize: 10,
  },
  {
    name: "gpu-spot",
    pool: "gpu",
    capacityType: "spot",
    instanceType: "g5.xlarge",
    taskPools: ["encode"],
    cpuMillis: 4000,
    memoryMb: 16_384,
    gpus: 1,
    pricePerHour: 0.4,
    maxSize: 10,
  },
  {
    name: "gpu-od",
    pool: "gpu",
    capacityType: "on-demand",
    instanceType: "g5.xlarge",
    taskPools: ["encode"],
    cpuMillis: 4000,
    memoryMb: 16_384,
    gpus: 1,
    pricePerHour: 1.006,
    maxSize: 10,
  },
];

const baseState = (over: Partial<PolicyState> = {}): PolicyState => state(over);
function state(over: Partial<PolicyState> = {}): PolicyState {
  return {
    nowMs: 1_000_000,
    pools: [
      { name: "cpu", onDemandBase: 0, maxSize: 50 },
      { name: "mem", onDemandBase: 0, maxSize: 10 },
      { name: "gpu", onDemandBase: 0, maxSize: 10 },
    ],
    groups,
    hosts: [],
    waiting: [],
    lastScaleOutMs: {},
    ...over,
  };
}

const task = (over: Partial<WaitingTask> = {}): WaitingTask => ({
  id: "t1",
  taskPool: "encode",
  cpuMillis: 4000,
  memoryMb: 2048,
  gpus: 0,
  predictedSeconds: 600,
  waitingSinceMs: 999_000,
  ...over,
});
const host = (over: Partial<HostState> = {}): HostState => ({
  id: "i-1",
  group: "cpu-spot",
  state: "running",
  usedCpuMillis: 0,
  usedMemoryMb: 0,
  usedGpus: 0,
  runningTasks: 0,
  launchedAtMs: 0,
  ...over,
});
const launches = (d: Decision[]) => d.filter((x): x is Extract<Decision, { action: "launch" }> => x.action === "launch");

describe("scale out", () => {
  it("scales a GPU pool up from zero when a GPU task waits, on spot for a short task", () => {
    const d = decide(state({ waiting: [task({ gpus: 1, cpuMillis: 1000 })] }));
    expect(launches(d)).toEqual([expect.objectContaining({ pool: "gpu", group: "gpu-spot", capacityType: "spot", count: 1 })]);
    expect(launches(d)[0]!.reason).toMatch(/fits no running host/);
  });

  it("puts a task predicted to run 90 minutes or more on on-demand, and honours a configured threshold", () => {
    expect(launches(decide(state({ waiting: [task({ predictedSeconds: 95 * 60 })] })))[0]).toMatchObject({
      group: "cpu-od",
      capacityType: "on-demand",
    });
    expect(launches(decide(state({ waiting: [task({ predictedSeconds: 89 * 60 })] })))[0]).toMatchObject({ group: "cpu-spot" });
    expect(
      launches(
        decide(state({ waiting: [task({ predictedSeconds: 40 * 60 })] }), { ...DEFAULT_POLICY, spotMaxPredictedSeconds: 30 * 60 }),
      )[0],
    ).toMatchObject({ group: "cpu-od" });
  });

  it("counts no spot room for a long task where the pool has on-demand groups: it launches on-demand", () => {
    const roomy = host({ usedCpuMillis: 0, runningTasks: 1 }); // a spot host with 16 cores free
    expect(launches(decide(state({ hosts: [roomy], waiting: [task({ predictedSeconds: 3 * 3600 })] })))).toEqual([
      expect.objectContaining({ group: "cpu-od", capacityType: "on-demand", count: 1 }),
    ]);
    // a short task takes the spot room
    expect(launches(decide(state({ hosts: [roomy], waiting: [task()] })))).toEqual([]);
  });

  it("chooses the pool by the task's needs: memory-heavy work to the memory pool, CPU work never to a GPU host", () => {
    expect(launches(decide(state({ waiting: [task({ memoryMb: 64_000 })] })))[0]).toMatchObject({ pool: "mem", group: "mem-od" });
    expect(launches(decide(state({ waiting: [task({ cpuMillis: 1000, memoryMb: 1000 })] })))[0]).toMatchObject({ pool: "cpu" });
  });

  it("gives a task that asks for more cores than any shape a whole host of the largest shape (CPU may be oversubscribed, memory not)", () => {
    expect(launches(decide(state({ waiting: [task({ cpuMillis: 32_000 })] })))[0]).toMatchObject({ pool: "cpu", count: 1 });
    const tooBig = decide(state({ waiting: [task({ memoryMb: 1_000_000 })] }));
    expect(launches(tooBig)).toEqual([]);
    expect(tooBig).toContainEqual(expect.objectContaining({ action: "hold", reason: expect.stringMatching(/fits no host group/) }));
  });

  it("packs a burst onto as few new hosts as fit it", () => {
    const waiting = Array.from({ length: 9 }, (_, i) => task({ id: `t${i}` })); // 9 × 4 cores on 16-core hosts: 3 hosts
    expect(launches(decide(state({ waiting })))).toEqual([expect.objectContaining({ group: "cpu-spot", count: 3 })]);
  });

  it("does not launch for work that fits the free room of a running or booting host", () => {
    expect(launches(decide(state({ hosts: [host({ usedCpuMillis: 4000 })], waiting: [task()] })))).toEqual([]);
    expect(launches(decide(state({ hosts: [host({ state: "booting" })], waiting: [task(), task({ id: "t2" })] })))).toEqual([]);
  });

  it("adds a host when a pool's occupancy passes the high threshold, but not while one boots", () => {
    const hot = [host({ usedCpuMillis: 14_000, runningTasks: 3 })];
    // work is arriving: the pool scaled out 20 s ago
    const state = (over: Partial<PolicyState> = {}) => baseState({ lastScaleOutMs: { cpu: 1_000_000 - 20_000 }, ...over });
    expect(occupancy(state({ hosts: hot }), "cpu")).toBeCloseTo(14 / 16);
    expect(launches(decide(state({ hosts: hot })))[0]).toMatchObject({
      pool: "cpu",
      count: 1,
      reason: expect.stringMatching(/occupancy 88% > 80%/),
    });
    expect(launches(decide(state({ hosts: [...hot, host({ id: "i-2", state: "booting" })] })))).toEqual([]);
    // an idle running host already is the headroom: a hot pool does not keep adding idle hosts
    const five = Array.from({ length: 5 }, (_, i) => host({ id: `i-${i}`, usedCpuMillis: 16_000, runningTasks: 4 }));
    expect(occupancy(state({ hosts: [...five, host({ id: "i-idle" })] }), "cpu")).toBeGreaterThan(0.8);
    expect(launches(decide(state({ hosts: [...five, host({ id: "i-idle" })] })))).toEqual([]);
    expect(launches(decide(state({ hosts: [host({ usedCpuMillis: 8000, runningTasks: 2 })] })))).toEqual([]);
  });

  it("adds no headroom host when a running task is predicted to free room before a new host could boot, or when nothing arrives", () => {
    const hot = (nextEndInMs?: number) => [host({ usedCpuMillis: 14_000, runningTasks: 3, nextEndInMs })];
    const state = (over: Partial<PolicyState> = {}) => baseState({ lastScaleOutMs: { cpu: 1_000_000 - 20_000 }, ...over });
    expect(launches(decide(state({ hosts: hot(30_000) })))).toEqual([]);
    expect(launches(decide(state({ hosts: hot(DEFAULT_POLICY.expectedBootMs + 1) })))).toHaveLength(1);
    // no prediction: the occupancy rule alone decides
    expect(launches(decide(state({ hosts: hot(undefined) })))).toHaveLength(1);
    // a pool that last scaled out a cool-down ago sees no arrivals needing room: a wave running out gets no headroom
    expect(
      launches(decide(state({ hosts: hot(undefined), lastScaleOutMs: { cpu: 1_000_000 - DEFAULT_POLICY.scaleInCooldownMs } }))),
    ).toEqual([]);
    expect(launches(decide(state({ hosts: hot(undefined), lastScaleOutMs: {} })))).toEqual([]);
  });

  it("launches the cheapest shape that fits each task when a pool offers several", () => {
    const shape = (name: string, cpuMillis: number, pricePerHour: number): HostGroupSpec => ({
      ...groups[0]!,
      name,
      instanceType: name,
      cpuMillis,
      memoryMb: cpuMillis * 2,
      pricePerHour,
    });
    const mixed = [shape("c7i.xlarge", 4000, 0.0675), shape("c7i.2xlarge", 8000, 0.135)];
    // three 4-core tasks: three of the 4-core shape (a 2xlarge would be half-empty for the third)
    const three = Array.from({ length: 3 }, (_, i) => task({ id: `t${i}`, memoryMb: 4096 }));
    expect(launches(decide(state({ groups: mixed, waiting: three })))).toEqual([
      expect.objectContaining({ group: "c7i.xlarge", count: 3 }),
    ]);
    // an 8-core task fits only the larger shape
    expect(launches(decide(state({ groups: mixed, waiting: [task({ cpuMillis: 8000, memoryMb: 8192 })] })))).toEqual([
      expect.objectContaining({ group: "c7i.2xlarge", count: 1 }),
    ]);
  });

  it("honours the pool's on-demand base before using spot", () => {
    const s = state({
      pools: [
        { name: "cpu", onDemandBase: 2, maxSize: 50 },
        { name: "mem", onDemandBase: 0, maxSize: 10 },
        { name: "gpu", onDemandBase: 0, maxSize: 10 },
      ],
    });
    const d = launches(decide({ ...s, waiting: Array.from({ length: 12 }, (_, i) => task({ id: `t${i}` })) }));
    expect(d).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ group: "cpu-od", count: 2 }),
        expect.objectContaining({ group: "cpu-spot", count: 1 }),
      ]),
    );
  });

  it("never passes a pool's maximum size", () => {
    const s = state({
      pools: [
        { name: "cpu", onDemandBase: 0, maxSize: 2 },
        { name: "mem", onDemandBase: 0, maxSize: 10 },
        { name: "gpu", onDemandBase: 0, maxSize: 10 },
      ],
    });
    const d = decide({
      ...s,
      hosts: [host({ usedCpuMillis: 16_000, runningTasks: 4 })],
      waiting: Array.from({ length: 12 }, (_, i) => task({ id: `t${i}` })),
    });
    expect(launches(d).reduce((n, l) => n + l.count, 0)).toBe(1);
    expect(d).toContainEqual(expect.objectContaining({ action: "hold", pool: "cpu", reason: expect.stringMatching(/maximum size 2/) }));
  });

  it("holds the budget cap: launches stop where the hourly list price would pass it", () => {
    const waiting = Array.from({ length: 40 }, (_, i) => task({ id: `t${i}` }));
    const running = [host({ usedCpuMillis: 16_000, runningTasks: 4 })]; // 0.27 USD/h already
    const d = decide(state({ hosts: running, waiting }), { ...DEFAULT_POLICY, budgetPerHour: 1.0 });
    const launched = launches(d).reduce((n, l) => n + l.count, 0);
    expect(launched).toBe(2); // 0.27 + 2 × 0.27 = 0.81 ≤ 1.00; a third would be 1.08
    expect(0.27 * (1 + launched)).toBeLessThanOrEqual(1.0);
    expect(d).toContainEqual(expect.objectContaining({ action: "hold", pool: "cpu", reason: expect.stringMatching(/budget cap/) }));
    // nothing at all when the running fleet already uses the budget
    expect(launches(decide(state({ hosts: running, waiting }), { ...DEFAULT_POLICY, budgetPerHour: 0.3 }))).toEqual([]);
  });
});

describe("scale in", () => {
  const idle = (over: Partial<HostState> = {}) => host({ idleSinceMs: 1_000_000 - 10 * 60_000, ...over });
  // the cool-down rules apply to the idle hosts the reserve keeps; with one in reserve they apply to a lone idle host
  const reserve1 = { ...DEFAULT_POLICY, idleReserve: 1 };

  it("drains an idle host after the cool-down when occupancy is low, then terminates it once drained", () => {
    expect(decide(state({ hosts: [idle()] }), reserve1)).toContainEqual(expect.objectContaining({ action: "drain", hostId: "i-1" }));
    expect(decide(state({ hosts: [idle({ idleSinceMs: 1_000_000 - 30_000 })] }), reserve1).filter((d) => d.action === "drain")).toEqual([]);
    expect(
      decide(state({ hosts: [idle()], lastScaleOutMs: { cpu: 1_000_000 - 30_000 } }), reserve1).filter((d) => d.action === "drain"),
    ).toEqual([]);
    expect(decide(state({ hosts: [idle({ state: "draining" })] }))).toContainEqual(
      expect.objectContaining({ action: "terminate", hostId: "i-1", reason: expect.stringMatching(/drained/) }),
    );
  });

  it("never drains or terminates a host that runs a task, even draining and at low occupancy", () => {
    const busy = host({ runningTasks: 1, usedCpuMillis: 1000, idleSinceMs: undefined });
    const draining = host({ id: "i-2", state: "draining", runningTasks: 1, usedCpuMillis: 1000 });
    const d = decide(state({ hosts: [busy, draining] }));
    expect(occupancy(state({ hosts: [busy] }), "cpu")).toBeLessThan(DEFAULT_POLICY.lowOccupancy);
    expect(d.filter((x) => x.action === "drain" || x.action === "terminate")).toEqual([]);
  });

  it("does not drain while the pool is above the low threshold and needs the host, or while waiting work fits it", () => {
    const hosts = [idle(), host({ id: "i-2", usedCpuMillis: 14_000, runningTasks: 3 })]; // 14/32 = 44%; 88% without the idle host
    expect(decide(state({ hosts }), reserve1).filter((d) => d.action === "drain")).toEqual([]);
    // waiting work that fits the host keeps it, reserve or not
    expect(decide(state({ hosts: [idle()], waiting: [task()] })).filter((d) => d.action === "drain")).toEqual([]);
  });

  it("drains an idle host above the low threshold when it is surplus: the rest stays below the high threshold", () => {
    const hosts = [idle(), host({ id: "i-2", usedCpuMillis: 12_000, runningTasks: 3 })]; // 37.5% with it, 75% without
    expect(decide(state({ hosts }), reserve1)).toContainEqual(
      expect.objectContaining({ action: "drain", hostId: "i-1", reason: expect.stringMatching(/surplus.*75%/) }),
    );
  });

  it("keeps the on-demand base while the pool has work, and lets it go when the pool is idle", () => {
    const pools = [{ name: "cpu", onDemandBase: 1, maxSize: 50 }];
    const od = idle({ id: "i-od", group: "cpu-od" });
    const busySpot = host({ id: "i-s", runningTasks: 1, usedCpuMillis: 1000 });
    expect(decide(state({ pools, hosts: [od, busySpot] })).filter((d) => d.action === "drain")).toEqual([]);
    expect(decide(state({ pools, hosts: [od] }))).toContainEqual(expect.objectContaining({ action: "drain", hostId: "i-od" }));
  });

  it("drains idle hosts beyond the reserve at once while nothing waits; the reserve sits out the cool-down", () => {
    // idle for 5 s only: well inside the 45 s cool-down
    const fresh = (id: string, group = "cpu-spot") => host({ id, group, idleSinceMs: 1_000_000 - 5_000 });
    const hosts = [fresh("i-a"), fresh("i-b"), fresh("i-c", "cpu-od"), host({ id: "i-busy", usedCpuMillis: 16_000, runningTasks: 4 })];
    const drained = (d: Decision[]) =>
      d
        .filter((x) => x.action === "drain")
        .map((x) => (x as { hostId: string }).hostId)
        .sort();
    // reserve 0 (the default): every idle host goes, though the pool is busy and just scaled out
    expect(drained(decide(state({ hosts, lastScaleOutMs: { cpu: 1_000_000 - 5_000 } })))).toEqual(["i-a", "i-b", "i-c"]);
    expect(decide(state({ hosts }))).toContainEqual(
      expect.objectContaining({ hostId: "i-a", reason: expect.stringMatching(/nothing waits/) }),
    );
    // reserve 1: the most expensive go first, so the on-demand host goes and one spot host is kept
    expect(drained(decide(state({ hosts }), reserve1))).toEqual(["i-a", "i-c"]);
    // work waits for the pool: no idle host goes
    expect(drained(decide(state({ hosts, waiting: [task()] })))).toEqual([]);
    // the on-demand base is kept while the pool has work
    expect(drained(decide(state({ hosts, pools: [{ name: "cpu", onDemandBase: 1, maxSize: 50 }] })))).toEqual(["i-a", "i-b"]);
  });

  it("terminates a preempted spot host at once, running tasks or not", () => {
    const d = decide(state({ hosts: [host({ state: "preempted", runningTasks: 2, usedCpuMillis: 8000 })] }));
    expect(d).toContainEqual(
      expect.objectContaining({ action: "terminate", hostId: "i-1", reason: expect.stringMatching(/interruption/) }),
    );
  });
});
