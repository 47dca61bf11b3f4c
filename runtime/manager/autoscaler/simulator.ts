// A discrete-time simulation of a region: jobs arrive, the real placement code
// (scheduler/placement.ts) puts ready tasks on hosts, the real policy
// (policy.ts) scales a SimulatedFleetProvider, hosts boot in 25–60 s, bill per
// second at list prices, and spot hosts are reclaimed at a given rate (their
// tasks are requeued at once, as a coordinator's notice does). The benchmark
// replays traces through it; tests use it for whole-fleet properties.
import { placeTasks, type HostFree, type TaskNeeds } from "../scheduler/placement.js";
import { SimulatedFleetProvider } from "../fleet/simulated.js";
import { decide, type HostGroupSpec, type HostState, type PolicyConfig, type WaitingTask, type WorkerPoolSpec } from "./policy.js";

export interface SimTask {
  id: string;
  taskPool: string;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  /** the real run time on a host */
  runSeconds: number;
  /** what the predictor would say (the policy sees this, not runSeconds) */
  predictedSeconds: number;
}

export interface SimJob {
  id: string;
  arrivalMs: number;
  deadlineMs: number;
  /** ready on arrival */
  encode: SimTask[];
  /** ready when every encode task has finished */
  finish?: SimTask;
  /** output minutes by tier, for the managed-service comparison */
  outputMinutes: { SD?: number; HD?: number; UHD?: number };
}

export interface SimConfig {
  groups: HostGroupSpec[];
  pools: WorkerPoolSpec[];
  policy: PolicyConfig;
  tickMs: number;
  bootMs: [number, number];
  /** chance per spot host per second of being reclaimed */
  interruptionPerHostSecond: number;
  seed: number;
  /** the scheduler's batch: the policy sees at most this many waiting tasks */
  batch?: number;
  /** false: placement is not told when hosts' running tasks are predicted to end (to measure what that is worth) */
  predictedEnds?: boolean;
}

export interface SimResult {
  costUsd: number;
  spotCostUsd: number;
  onDemandCostUsd: number;
  hostsLaunched: number;
  interruptions: number;
  waitsMs: number[];
  jobs: number;
  jobsFinished: number;
  deadlineMisses: number;
  durationMs: number;
  /** the most hosts alive at once, per pool */
  peakHosts: Record<string, number>;
  /** the most the hosts alive at once would cost per hour on demand (an always-on fleet sized for the peak) */
  peakOnDemandPerHour: number;
  /** seconds spot hosts were alive, all together */
  spotHostSeconds: number;
  /** host-seconds of work, perfectly packed, priced at the capacity type the rule asks for: no idle, no boot */
  clairvoyantUsd: number;
  decisions: number;
  /**
   * Where the host-time went, in list-price USD, sampled once per tick (so it
   * sums to about costUsd, less the one-minute minimums): booting; in use (the
   * larger of the CPU and memory share its tasks hold); the unused share of a
   * host that runs something; and hosts running nothing (cool-down, draining,
   * reclaimed).
   */
  spentUsd: { boot: number; used: number; partlyIdle: number; idle: number };
}

/** A small, fast, seeded PRNG (mulberry32): the same seed replays the same run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface LiveTask {
  task: SimTask;
  job: SimJob;
  readyAt: number;
}
interface Running {
  lt: LiveTask;
  hostId: string;
  endsAt: number;
  startedAt: number;
}
interface SimHost {
  id: string;
  group: HostGroupSpec;
  readyAt: number;
  state: HostState["state"];
  used: { cpu: number; mem: number; gpus: number };
  running: Set<Running>;
  idleSince?: number;
  launchedAt: number;
}

class Heap<T> {
  private a: T[] = [];
  constructor(private readonly less: (x: T, y: T) => boolean) {}
  get size(): number {
    return this.a.length;
  }
  peek(): T | undefined {
    return this.a[0];
  }
  push(v: T): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

const ENGINE = [{ name: "ffmpeg", version: "7.1" }];

export function simulate(jobsIn: SimJob[], cfg: SimConfig): SimResult {
  const jobs = [...jobsIn].sort((a, b) => a.arrivalMs - b.arrivalMs);
  const random = rng(cfg.seed);
  let now = jobs[0]?.arrivalMs ?? 0;
  const start = now;
  const groupByName = new Map(cfg.groups.map((g) => [g.name, g]));
  const fleet = new SimulatedFleetProvider(
    Object.fromEntries(cfg.groups.map((g) => [g.name, { max: g.maxSize, pricePerHour: g.pricePerHour }])),
    () => now,
    () => cfg.bootMs[0] + random() * (cfg.bootMs[1] - cfg.bootMs[0]),
  );
  const hosts = new Map<string, SimHost>();
  let ready: LiveTask[] = [];
  const running = new Heap<Running>((x, y) => x.endsAt < y.endsAt);
  const remaining = new Map<string, number>();
  const waits: number[] = [];
  let nextJob = 0;
  let jobsFinished = 0;
  let misses = 0;
  let interruptions = 0;
  let decisions = 0;
  const lastScaleOutMs: Record<string, number> = {};
  const peakHosts: Record<string, number> = {};
  const batch = cfg.batch ?? 2000;
  // as the manager runs it: where the fleet can launch on-demand hosts, a long task waits for one
  const longWaitsForOnDemand = cfg.groups.some((g) => g.capacityType === "on-demand");
  const spent = { boot: 0, used: 0, partlyIdle: 0, idle: 0 };
  const onDemandPrice = new Map<string, number>();
  for (const g of cfg.groups) if (g.capacityType === "on-demand") onDemandPrice.set(g.instanceType, g.pricePerHour);
  let peakOnDemandPerHour = 0;

  const clairvoyant = (t: SimTask) => {
    const want = t.predictedSeconds < cfg.policy.spotMaxPredictedSeconds ? "spot" : "on-demand";
    const fitting = cfg.groups.filter(
      (g) =>
        (g.taskPools.length === 0 || g.taskPools.includes(t.taskPool)) &&
        g.cpuMillis >= t.cpuMillis &&
        g.memoryMb >= t.memoryMb &&
        g.gpus >= t.gpus &&
        (t.gpus > 0 || g.gpus === 0),
    );
    const typed = fitting.filter((g) => g.capacityType === want);
    let best = Infinity;
    for (const g of typed.length ? typed : fitting) {
      const share = Math.max(t.cpuMillis / g.cpuMillis, t.memoryMb / g.memoryMb, g.gpus ? t.gpus / g.gpus : 0);
      best = Math.min(best, (t.runSeconds * share * g.pricePerHour) / 3600);
    }
    return Number.isFinite(best) ? best : 0;
  };
  let clairvoyantUsd = 0;
  for (const j of jobs) for (const t of [...j.encode, ...(j.finish ? [j.finish] : [])]) clairvoyantUsd += clairvoyant(t);

  const finishTask = (r: Running) => {
    const h = hosts.get(r.hostId);
    if (h) {
      h.running.delete(r);
      h.used.cpu -= r.lt.task.cpuMillis;
      h.used.mem -= r.lt.task.memoryMb;
      h.used.gpus -= r.lt.task.gpus;
      if (h.running.size === 0) h.idleSince = now;
    }
    const job = r.lt.job;
    const left = (remaining.get(job.id) ?? 0) - 1;
    remaining.set(job.id, left);
    if (left === 0) {
      if (job.finish && r.lt.task !== job.finish) {
        remaining.set(job.id, 1);
        ready.push({ task: job.finish, job, readyAt: now });
      } else {
        jobsFinished++;
        if (now > job.deadlineMs) misses++;
      }
    }
  };

  const step = () => {
    // finished tasks
    while (running.size > 0 && running.peek()!.endsAt <= now) {
      const r = running.pop()!;
      if (r.lt.task && hosts.get(r.hostId)?.running.has(r)) finishTask(r);
    }
    // arrivals
    while (nextJob < jobs.length && jobs[nextJob]!.arrivalMs <= now) {
      const j = jobs[nextJob++]!;
      remaining.set(j.id, j.encode.length);
      for (const t of j.encode) ready.push({ task: t, job: j, readyAt: j.arrivalMs });
    }
    // boots and spot interruptions
    for (const h of hosts.values()) {
      if (h.state === "booting" && now >= h.readyAt) {
        h.state = "running";
        h.idleSince = now;
      }
      if (
        h.group.capacityType === "spot" &&
        (h.state === "running" || h.state === "draining") &&
        random() < cfg.interruptionPerHostSecond * (cfg.tickMs / 1000)
      ) {
        interruptions++;
        h.state = "preempted";
        // the notice reaches the coordinator: its attempts are requeued at once
        for (const r of h.running) ready.push({ ...r.lt, readyAt: now });
        h.running.clear();
        h.used = { cpu: 0, mem: 0, gpus: 0 };
      }
    }
    // the scheduler: ready tasks by age onto running hosts, best fit
    if (ready.length > 0) {
      const free: HostFree[] = [];
      for (const h of hosts.values()) {
        if (h.state !== "running") continue;
        let busyMs = 0;
        for (const r of h.running) busyMs = Math.max(busyMs, r.startedAt + r.lt.task.predictedSeconds * 1000 - now);
        free.push({
          id: h.id,
          pools: h.group.taskPools,
          freeCpuMillis: h.group.cpuMillis - h.used.cpu,
          totalCpuMillis: h.group.cpuMillis,
          freeMemoryMb: h.group.memoryMb - h.used.mem,
          freeGpus: h.group.gpus - h.used.gpus,
          engines: ENGINE,
          capacityType: h.group.capacityType,
          ...(cfg.predictedEnds === false ? {} : { busyForSeconds: busyMs / 1000 }),
        });
      }
      if (free.length > 0) {
        const head = ready.slice(0, batch);
        const byId = new Map(head.map((lt) => [lt.task.id, lt]));
        const needs: TaskNeeds[] = head.map((lt) => ({
          id: lt.task.id,
          pool: lt.task.taskPool,
          cpuMillis: lt.task.cpuMillis,
          memoryMb: lt.task.memoryMb,
          gpus: lt.task.gpus,
          engineName: "ffmpeg",
          engineVersion: "7.1",
          predictedSeconds: lt.task.predictedSeconds,
        }));
        const { placements } = placeTasks(needs, free, {
          longTaskSeconds: cfg.policy.spotMaxPredictedSeconds,
          longTasksOnDemandOnly: longWaitsForOnDemand,
        });
        const placed = new Set<string>();
        for (const p of placements) {
          const lt = byId.get(p.taskId)!;
          const h = hosts.get(p.coordinatorId)!;
          const r: Running = { lt, hostId: h.id, startedAt: now, endsAt: now + lt.task.runSeconds * 1000 };
          h.running.add(r);
          h.used.cpu += lt.task.cpuMillis;
          h.used.mem += lt.task.memoryMb;
          h.used.gpus += lt.task.gpus;
          h.idleSince = undefined;
          running.push(r);
          waits.push(now - lt.readyAt);
          placed.add(p.taskId);
        }
        if (placed.size > 0) ready = ready.filter((lt) => !placed.has(lt.task.id));
      }
    }
    // the autoscaler
    const waiting: WaitingTask[] = ready.slice(0, batch).map((lt) => ({
      id: lt.task.id,
      taskPool: lt.task.taskPool,
      cpuMillis: lt.task.cpuMillis,
      memoryMb: lt.task.memoryMb,
      gpus: lt.task.gpus,
      predictedSeconds: lt.task.predictedSeconds,
      waitingSinceMs: lt.readyAt,
    }));
    const hostStates: HostState[] = [...hosts.values()].map((h) => {
      let next = Infinity;
      for (const r of h.running) next = Math.min(next, Math.max(0, r.startedAt + r.lt.task.predictedSeconds * 1000 - now));
      return {
        id: h.id,
        group: h.group.name,
        state: h.state,
        usedCpuMillis: h.used.cpu,
        usedMemoryMb: h.used.mem,
        usedGpus: h.used.gpus,
        runningTasks: h.running.size,
        launchedAtMs: h.launchedAt,
        idleSinceMs: h.running.size === 0 ? h.idleSince : undefined,
        ...(cfg.predictedEnds === false || !Number.isFinite(next) ? {} : { nextEndInMs: next }),
      };
    });
    for (const d of decide({ nowMs: now, pools: cfg.pools, groups: cfg.groups, hosts: hostStates, waiting, lastScaleOutMs }, cfg.policy)) {
      decisions++;
      if (d.action === "launch") {
        const g = groupByName.get(d.group)!;
        for (const added of fleet.setDesiredNow(g.name, fleet.live(g.name).length + d.count)) {
          hosts.set(added.id, {
            id: added.id,
            group: g,
            readyAt: added.readyAt,
            state: "booting",
            used: { cpu: 0, mem: 0, gpus: 0 },
            running: new Set(),
            launchedAt: now,
          });
        }
        lastScaleOutMs[d.pool] = now;
      } else if (d.action === "drain") {
        const h = hosts.get(d.hostId);
        if (h && h.running.size === 0) {
          fleet.terminateNow(d.group, h.id);
          hosts.delete(h.id);
        } else if (h) h.state = "draining";
      } else if (d.action === "terminate") {
        const h = hosts.get(d.hostId);
        if (h && (h.running.size === 0 || h.state === "preempted")) {
          fleet.terminateNow(d.group, h.id);
          hosts.delete(h.id);
        }
      }
    }
    const perPool: Record<string, number> = {};
    for (const h of hosts.values()) perPool[h.group.pool] = (perPool[h.group.pool] ?? 0) + 1;
    for (const [p, n] of Object.entries(perPool)) peakHosts[p] = Math.max(peakHosts[p] ?? 0, n);
    let perHour = 0;
    for (const h of hosts.values()) perHour += onDemandPrice.get(h.group.instanceType) ?? h.group.pricePerHour;
    peakOnDemandPerHour = Math.max(peakOnDemandPerHour, perHour);
    for (const h of hosts.values()) {
      const usd = (h.group.pricePerHour * cfg.tickMs) / 3_600_000;
      if (h.state === "booting") spent.boot += usd;
      else if (h.running.size === 0) spent.idle += usd;
      else {
        const share = Math.min(1, Math.max(h.used.cpu / h.group.cpuMillis, h.used.mem / h.group.memoryMb));
        spent.used += usd * share;
        spent.partlyIdle += usd * (1 - share);
      }
    }
  };

  for (;;) {
    step();
    const busy = ready.length > 0 || running.size > 0;
    if (!busy && hosts.size === 0) {
      if (nextJob >= jobs.length) break;
      now = Math.max(now + cfg.tickMs, Math.ceil(jobs[nextJob]!.arrivalMs / cfg.tickMs) * cfg.tickMs);
      continue;
    }
    now += cfg.tickMs;
  }
  let spot = 0,
    onDemand = 0,
    spotHostSeconds = 0;
  for (const h of fleet.all()) {
    const g = groupByName.get(h.group)!;
    const seconds = ((h.terminatedAt ?? now) - h.launchedAt) / 1000;
    const usd = (Math.max(60, seconds) * g.pricePerHour) / 3600;
    if (g.capacityType === "spot") {
      spot += usd;
      spotHostSeconds += seconds;
    } else onDemand += usd;
  }
  return {
    costUsd: spot + onDemand,
    spotCostUsd: spot,
    onDemandCostUsd: onDemand,
    hostsLaunched: fleet.all().length,
    interruptions,
    waitsMs: waits,
    jobs: jobs.length,
    jobsFinished,
    deadlineMisses: misses,
    durationMs: now - start,
    peakHosts,
    peakOnDemandPerHour,
    spotHostSeconds,
    clairvoyantUsd,
    decisions,
    spentUsd: spent,
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
