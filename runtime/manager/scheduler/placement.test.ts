import { describe, expect, it } from "vitest";
import { onDemandTaskPools } from "../autoscaler/policy.js";
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

describe("placement of engine images", () => {
  const digest = "sha256:" + "a".repeat(64);
  const other = "sha256:" + "b".repeat(64);
  const imageTask = (id: string, cpu = 1000, d = digest): TaskNeeds => ({ ...task(id, cpu), engineVersion: "5.1.9", imageDigest: d });

  it("runs an image task only on a host that pulls images or already holds that image, never on host binaries", () => {
    const hosts: HostFree[] = [
      host("binaries", 8000, 8000), // reports ffmpeg 5.1.9 as host binaries: the image's version, but not the image
      { ...host("holds-other", 8000, 8000, 0, [], []), imageDigests: [other] },
    ];
    expect(placeTasks([imageTask("t")], hosts).placements).toEqual([]);
    const holder = { ...host("holder", 8000, 8000, 0, [], []), imageDigests: [digest] };
    expect(placeTasks([imageTask("t")], [...hosts, holder]).placements).toEqual([{ taskId: "t", coordinatorId: "holder" }]);
    const puller = { ...host("puller", 8000, 8000, 0, [], []), pullsImages: true };
    expect(placeTasks([imageTask("t")], [...hosts, puller]).placements).toEqual([{ taskId: "t", coordinatorId: "puller" }]);
  });

  it("keeps a host-binary task to hosts whose own engines match, even where images are pulled", () => {
    const puller = { ...host("puller", 8000, 8000, 0, [], []), pullsImages: true, imageDigests: [digest] };
    const r = placeTasks([task("binary", 1000)], [puller, host("binaries", 8000, 8000)]);
    expect(r.placements).toEqual([{ taskId: "binary", coordinatorId: "binaries" }]);
    expect(placeTasks([task("binary", 1000)], [puller]).unplaced.map((t) => t.id)).toEqual(["binary"]);
  });

  it("prefers a host that already holds the image over a tighter fit that would have to pull it", () => {
    const tight = { ...host("tight-puller", 1500, 8000, 0, [], []), pullsImages: true };
    const roomy = { ...host("roomy-holder", 8000, 8000, 0, [], []), pullsImages: true, imageDigests: [digest] };
    expect(placeTasks([imageTask("t")], [tight, roomy]).placements).toEqual([{ taskId: "t", coordinatorId: "roomy-holder" }]);
    // among hosts that all hold it (or all must pull it), best fit still decides
    const tightHolder = { ...tight, id: "tight-holder", imageDigests: [digest] };
    expect(placeTasks([imageTask("t")], [roomy, tightHolder]).placements).toEqual([{ taskId: "t", coordinatorId: "tight-holder" }]);
    const roomyPuller = { ...roomy, id: "roomy-puller", imageDigests: [] };
    expect(placeTasks([imageTask("t")], [roomyPuller, tight]).placements).toEqual([{ taskId: "t", coordinatorId: "tight-puller" }]);
  });

  it("still keeps CPU image work off a GPU host that holds the image while a CPU host can pull it", () => {
    const gpuHolder = { ...host("gpu-holder", 8000, 8000, 1, [], []), imageDigests: [digest] };
    const cpuPuller = { ...host("cpu-puller", 8000, 8000, 0, [], []), pullsImages: true };
    expect(placeTasks([imageTask("t")], [gpuHolder, cpuPuller]).placements).toEqual([{ taskId: "t", coordinatorId: "cpu-puller" }]);
  });
});

describe("placement by capacity type and predicted run time", () => {
  const typed = (id: string, cpu: number, capacityType: string, busyForSeconds?: number): HostFree => ({
    ...host(id, cpu, 16_000),
    totalCpuMillis: 8000,
    capacityType,
    ...(busyForSeconds === undefined ? {} : { busyForSeconds }),
  });
  const predicted = (id: string, cpu: number, predictedSeconds: number | null): TaskNeeds => ({ ...task(id, cpu), predictedSeconds });

  it("keeps a task predicted to run 90 minutes or more off spot hosts while an on-demand host fits", () => {
    // the spot host is the tighter fit: best fit alone would pick it
    const hosts = [typed("spot", 4000, "spot"), typed("od", 8000, "on-demand")];
    expect(placeTasks([predicted("master", 4000, 2 * 3600)], hosts).placements).toEqual([{ taskId: "master", coordinatorId: "od" }]);
    // a short task, or one with no prediction yet, takes the best fit as before
    expect(placeTasks([predicted("chunk", 4000, 600)], hosts).placements).toEqual([{ taskId: "chunk", coordinatorId: "spot" }]);
    expect(placeTasks([predicted("new", 4000, null)], hosts).placements).toEqual([{ taskId: "new", coordinatorId: "spot" }]);
    // the threshold is the autoscaler's, configurable
    expect(placeTasks([predicted("m", 4000, 40 * 60)], hosts, { longTaskSeconds: 30 * 60 }).placements).toEqual([
      { taskId: "m", coordinatorId: "od" },
    ]);
  });

  it("lets a long task run on spot when no on-demand host fits, unless told to wait for on-demand room", () => {
    const hosts = [typed("spot", 8000, "spot"), typed("od-full", 1000, "on-demand")];
    expect(placeTasks([predicted("master", 4000, 3 * 3600)], hosts).placements).toEqual([{ taskId: "master", coordinatorId: "spot" }]);
    const strict = placeTasks([predicted("master", 4000, 3 * 3600)], hosts, { longTasksOnDemandOnly: true });
    expect(strict.placements).toEqual([]);
    expect(strict.unplaced.map((t) => t.id)).toEqual(["master"]);
    // only the task pools an on-demand group serves wait: a spot-only pool's long task runs on spot
    const inPool = (id: string, pool: string): TaskNeeds => ({ ...predicted(id, 4000, 3 * 3600), pool });
    const perPool = placeTasks([inPool("package-master", "package"), inPool("encode-master", "encode")], hosts, {
      longTasksOnDemandOnly: onDemandTaskPools([
        { capacityType: "on-demand", taskPools: ["package"] },
        { capacityType: "spot", taskPools: ["encode", "package"] },
      ]),
    });
    expect(perPool.placements).toEqual([{ taskId: "encode-master", coordinatorId: "spot" }]);
    expect(perPool.unplaced.map((t) => t.id)).toEqual(["package-master"]);
    // an on-demand group that serves every pool makes every pool wait; none makes none wait
    expect(onDemandTaskPools([{ capacityType: "on-demand", taskPools: [] }])).toBe(true);
    expect(onDemandTaskPools([{ capacityType: "spot", taskPools: [] }])).toBe(false);
  });

  it("puts a task on the host whose running work is predicted to end when it does, so hosts empty together", () => {
    // equal free room on both: only the predicted ends tell them apart
    const hosts = () => [typed("ends-in-3-min", 4000, "spot", 180), typed("ends-in-10-min", 4000, "spot", 600)];
    expect(placeTasks([predicted("long", 4000, 600)], hosts()).placements).toEqual([{ taskId: "long", coordinatorId: "ends-in-10-min" }]);
    expect(placeTasks([predicted("short", 4000, 170)], hosts()).placements).toEqual([{ taskId: "short", coordinatorId: "ends-in-3-min" }]);
    // a busy host whose work outlasts the task beats an idle one, which would run for the task alone
    const withIdle = [typed("idle", 8000, "spot", 0), typed("busy", 4000, "spot", 600)];
    expect(placeTasks([predicted("chunk", 2000, 500)], withIdle).placements).toEqual([{ taskId: "chunk", coordinatorId: "busy" }]);
    // within one pass, a placed task's end counts: the second long task joins the first
    const idlePair = [typed("a", 8000, "spot", 0), typed("b", 8000, "spot", 0)];
    const r = placeTasks([predicted("l1", 4000, 600), predicted("l2", 4000, 600)], idlePair);
    expect(new Set(r.placements.map((p) => p.coordinatorId)).size).toBe(1);
  });
});
