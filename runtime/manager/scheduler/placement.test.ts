import { describe, expect, it } from "vitest";
import { placeTasks, type HostFree, type TaskNeeds } from "./placement.js";

const ff = [{ name: "ffmpeg", version: "5.1.9" }];
const host = (id: string, cpu: number, mem: number, gpus = 0, pools: string[] = [], engines = ff): HostFree => ({
  id,
  pools,
  freeCpuMillis: cpu,
  freeMemoryMb: mem,
  freeGpus: gpus,
  engines,
});
const task = (id: string, cpu: number, mem = 100, gpus = 0, pool = "encode", version = "5.1"): TaskNeeds => ({
  id,
  pool,
  cpuMillis: cpu,
  memoryMb: mem,
  gpus,
  engineName: "ffmpeg",
  engineVersion: version,
});

describe("placement", () => {
  it("places only where CPU, memory and GPU all fit", () => {
    const r = placeTasks([task("big", 3000), task("mem", 100, 5000), task("gpu", 100, 100, 1)], [host("a", 2000, 4000)]);
    expect(r.placements).toEqual([]);
    expect(r.unplaced.map((t) => t.id)).toEqual(["big", "mem", "gpu"]);
  });

  it("uses up capacity within one pass instead of overcommitting a host", () => {
    const r = placeTasks([task("1", 1000), task("2", 1000), task("3", 1000)], [host("a", 2000, 4000)]);
    expect(r.placements.map((p) => p.taskId)).toEqual(["1", "2"]);
    expect(r.unplaced.map((t) => t.id)).toEqual(["3"]);
  });

  it("packs onto the fullest host that fits (best fit) so idle hosts can retire", () => {
    const r = placeTasks([task("t", 1000)], [host("empty", 8000, 8000), host("busy", 1500, 8000)]);
    expect(r.placements).toEqual([{ taskId: "t", coordinatorId: "busy" }]);
  });

  it("keeps CPU work off GPU hosts while a CPU host fits, and puts GPU work on GPUs", () => {
    const hosts = [host("gpu", 1000, 8000, 1), host("cpu", 8000, 8000)];
    const r = placeTasks([task("cpu-task", 500), task("gpu-task", 500, 100, 1)], hosts);
    expect(r.placements).toEqual([
      { taskId: "cpu-task", coordinatorId: "cpu" },
      { taskId: "gpu-task", coordinatorId: "gpu" },
    ]);
  });

  it("respects pools and engine pins", () => {
    const hosts = [host("probe-only", 8000, 8000, 0, ["probe"]), host("old", 8000, 8000, 0, [], [{ name: "ffmpeg", version: "4.4.2" }])];
    const r = placeTasks([task("enc", 100), task("probe", 100, 100, 0, "probe"), task("pinned", 100, 100, 0, "probe", "4.4")], hosts);
    // enc needs 5.1: the only host serving encode has 4.4.2; the 4.4 pin finds that host
    expect(r.placements).toEqual([
      { taskId: "probe", coordinatorId: "probe-only" },
      { taskId: "pinned", coordinatorId: "old" },
    ]);
    expect(r.unplaced.map((t) => t.id)).toEqual(["enc"]);
  });

  it("lets a task bigger than any host take a whole idle host, never a busy one", () => {
    const small = { ...host("two-cores", 2000, 8000), totalCpuMillis: 2000 };
    const r1 = placeTasks([task("4k-encode", 8000, 1000)], [small]);
    expect(r1.placements).toEqual([{ taskId: "4k-encode", coordinatorId: "two-cores" }]);
    const busy = { ...host("two-cores", 1000, 8000), totalCpuMillis: 2000 };
    expect(placeTasks([task("4k-encode", 8000, 1000)], [busy]).placements).toEqual([]);
    // memory is never oversubscribed
    expect(placeTasks([task("fat", 1000, 9000)], [small]).placements).toEqual([]);
  });
});
