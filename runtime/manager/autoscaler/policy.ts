// The autoscaler's decisions as plain functions over a constructed state: no
// I/O, no clock, no randomness. The manager's loop (autoscaler.ts), the
// simulator (simulator.ts) and the benchmark all run this same code.
import type { CapacityType } from "../fleet/provider.js";

/** A group of identical hosts: one instance shape, one capacity type. */
export interface HostGroupSpec {
  /** the provider's group name (ASG name, MIG name, VMSS name, "local") */
  name: string;
  /** the worker pool it belongs to (several groups — spot and on-demand — make one pool) */
  pool: string;
  capacityType: CapacityType;
  instanceType: string;
  /** task pools its hosts serve; empty: every task pool */
  taskPools: string[];
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  /** list price per host-hour in USD */
  pricePerHour: number;
  maxSize: number;
}

export interface WorkerPoolSpec {
  name: string;
  /** this many hosts of the pool are on-demand before any spot host is used (AWS OnDemandBaseCapacity) */
  onDemandBase: number;
  /** hosts in the pool, all groups together */
  maxSize: number;
}

export interface HostState {
  /** the provider's instance id */
  id: string;
  group: string;
  coordinatorId?: string;
  /** booting: asked for, not yet reporting; running; draining: takes no work; preempted: a spot notice arrived */
  state: "booting" | "running" | "draining" | "preempted";
  usedCpuMillis: number;
  usedMemoryMb: number;
  usedGpus: number;
  runningTasks: number;
  launchedAtMs: number;
  /** since when it has run nothing; undefined while busy */
  idleSinceMs?: number;
  /** predicted ms until its first running task ends (room frees); absent when idle or unknown */
  nextEndInMs?: number;
}

export interface WaitingTask {
  id: string;
  /** the task's pool (probe | encode | package) */
  taskPool: string;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  predictedSeconds: number;
  waitingSinceMs: number;
}

export interface PolicyState {
  nowMs: number;
  pools: WorkerPoolSpec[];
  groups: HostGroupSpec[];
  hosts: HostState[];
  /** ready tasks the scheduler could not place */
  waiting: WaitingTask[];
  /** when each worker pool last scaled out (cool-down for scale-in) */
  lastScaleOutMs: Record<string, number>;
}

export interface PolicyConfig {
  /** scale out when a pool's occupancy passes this share (0..1) */
  highOccupancy: number;
  /** scale in only while a pool's occupancy is below this share */
  lowOccupancy: number;
  /**
   * a host must be idle this long before it is drained, and a pool that just
   * scaled out drains nothing for this long. About one boot time: waiting longer
   * idles more than a relaunch would cost, shorter risks relaunching for the next task.
   */
  scaleInCooldownMs: number;
  /** tasks predicted to run less than this go to spot first; longer ones to on-demand */
  spotMaxPredictedSeconds: number;
  /** list-price spend per hour the fleet may not pass; Infinity for none */
  budgetPerHour: number;
  /** at most this many hosts launched per pool per decision (bounds a burst's over-shoot) */
  maxLaunchPerPass: number;
  /**
   * how long a new host takes to boot, about: room a running host is predicted
   * to free within this long is headroom that comes sooner than a new host would
   */
  expectedBootMs: number;
  /**
   * while nothing waits in a pool, at most this many of its idle hosts sit out
   * the cool-down (for the next arrival); the others are drained at once
   */
  idleReserve: number;
}

export const DEFAULT_POLICY: PolicyConfig = {
  highOccupancy: 0.8,
  lowOccupancy: 0.3,
  scaleInCooldownMs: 45_000,
  spotMaxPredictedSeconds: 90 * 60,
  budgetPerHour: Infinity,
  maxLaunchPerPass: 50,
  expectedBootMs: 45_000,
  idleReserve: 0,
};

export type Decision =
  | { action: "launch"; pool: string; group: string; capacityType: CapacityType; count: number; reason: string }
  | { action: "drain"; pool: string; group: string; hostId: string; reason: string }
  | { action: "terminate"; pool: string; group: string; hostId: string; reason: string }
  | { action: "hold"; pool: string; reason: string };

/** Occupancy of a pool: the largest share in use of any reported resource on its running hosts. */
export function occupancy(state: PolicyState, pool: string): number {
  const groups = new Map(state.groups.filter((g) => g.pool === pool).map((g) => [g.name, g]));
  let cap = { cpu: 0, mem: 0, gpu: 0 };
  let used = { cpu: 0, mem: 0, gpu: 0 };
  for (const h of state.hosts) {
    const g = groups.get(h.group);
    if (!g || h.state !== "running") continue;
    cap = { cpu: cap.cpu + g.cpuMillis, mem: cap.mem + g.memoryMb, gpu: cap.gpu + g.gpus };
    used = { cpu: used.cpu + h.usedCpuMillis, mem: used.mem + h.usedMemoryMb, gpu: used.gpu + h.usedGpus };
  }
  if (cap.cpu === 0) return 0;
  return Math.max(used.cpu / cap.cpu, cap.mem ? used.mem / cap.mem : 0, cap.gpu ? used.gpu / cap.gpu : 0);
}

function occupancyWithout(state: PolicyState, pool: string, hostId: string): number {
  return occupancy({ ...state, hosts: state.hosts.filter((h) => h.id !== hostId) }, pool);
}

function fits(g: HostGroupSpec, t: { taskPool: string; cpuMillis: number; memoryMb: number; gpus: number }): boolean {
  return (
    (g.taskPools.length === 0 || g.taskPools.includes(t.taskPool)) &&
    g.cpuMillis >= t.cpuMillis &&
    g.memoryMb >= t.memoryMb &&
    g.gpus >= t.gpus
  );
}

/**
 * The group a new host for this task should come from: among groups whose
 * shape fits the task, of the wanted capacity type (falling back to the other
 * type when the pool has none), the one that wastes least — a CPU task never
 * gets a GPU host while a CPU shape fits — then the cheapest.
 */
export function chooseGroup(groups: HostGroupSpec[], t: WaitingTask, want: CapacityType): HostGroupSpec | undefined {
  let fitting = groups.filter((g) => fits(g, t));
  if (fitting.length === 0) {
    // CPU is the one resource a task may oversubscribe (as placement does): a task asking
    // for more cores than any shape has takes a whole host of the largest shape that fits otherwise
    const otherwise = groups.filter((g) => fits(g, { ...t, cpuMillis: 0 }));
    const most = Math.max(...otherwise.map((g) => g.cpuMillis));
    fitting = otherwise.filter((g) => g.cpuMillis === most);
  }
  if (fitting.length === 0) return undefined;
  const score = (g: HostGroupSpec) => (t.gpus === 0 && g.gpus > 0 ? 1e6 : 0) + (g.capacityType === want ? 0 : 1e3) + g.pricePerHour;
  return [...fitting].sort((a, b) => score(a) - score(b) || a.name.localeCompare(b.name))[0];
}

export function capacityTypeFor(predictedSeconds: number, cfg: PolicyConfig): CapacityType {
  return predictedSeconds < cfg.spotMaxPredictedSeconds ? "spot" : "on-demand";
}

interface Slot {
  group: HostGroupSpec;
  cpu: number;
  mem: number;
  gpus: number;
}

export function decide(state: PolicyState, cfg: PolicyConfig = DEFAULT_POLICY): Decision[] {
  const decisions: Decision[] = [];
  const groupByName = new Map(state.groups.map((g) => [g.name, g]));
  const poolByName = new Map(state.pools.map((p) => [p.name, p]));
  const live = (h: HostState) => h.state === "booting" || h.state === "running";
  let spend = state.hosts.reduce((s, h) => s + (groupByName.get(h.group)?.pricePerHour ?? 0), 0);
  const poolSize = new Map<string, number>();
  const groupSize = new Map<string, number>();
  for (const h of state.hosts) {
    const g = groupByName.get(h.group);
    if (!g) continue;
    poolSize.set(g.pool, (poolSize.get(g.pool) ?? 0) + 1);
    groupSize.set(g.name, (groupSize.get(g.name) ?? 0) + 1);
  }
  const onDemandIn = (pool: string) =>
    state.hosts.filter((h) => groupByName.get(h.group)?.pool === pool && groupByName.get(h.group)?.capacityType === "on-demand" && live(h))
      .length;

  // 1. Waiting work that fits nowhere: pack it onto the free room of running and
  // booting hosts first (booting hosts are already on their way), then onto new hosts.
  const slots: Slot[] = state.hosts.filter(live).flatMap((h) => {
    const g = groupByName.get(h.group);
    return g ? [{ group: g, cpu: g.cpuMillis - h.usedCpuMillis, mem: g.memoryMb - h.usedMemoryMb, gpus: g.gpus - h.usedGpus }] : [];
  });
  const launches = new Map<string, { group: HostGroupSpec; count: number; reasons: Set<string> }>();
  const held = new Map<string, string>();
  const launchedIn = new Map<string, number>();
  const take = (s: Slot, t: WaitingTask) => {
    s.cpu -= t.cpuMillis;
    s.mem -= t.memoryMb;
    s.gpus -= t.gpus;
  };
  // the scheduler keeps a long task off spot hosts where the pool has on-demand groups
  // (placement's longTasksOnDemandOnly), so spot room is no room for it
  const onDemandPools = new Set(state.groups.filter((g) => g.capacityType === "on-demand").map((g) => g.pool));
  const slotFits = (s: Slot, t: WaitingTask) =>
    !(s.group.capacityType === "spot" && t.predictedSeconds >= cfg.spotMaxPredictedSeconds && onDemandPools.has(s.group.pool)) &&
    (s.group.taskPools.length === 0 || s.group.taskPools.includes(t.taskPool)) &&
    s.cpu >= t.cpuMillis &&
    s.mem >= t.memoryMb &&
    s.gpus >= t.gpus;
  const unfit: WaitingTask[] = [];
  for (const t of state.waiting) {
    const best = slots.filter((s) => slotFits(s, t)).sort((a, b) => a.cpu - t.cpuMillis - (b.cpu - t.cpuMillis))[0];
    if (best) take(best, t);
    else unfit.push(t);
  }
  const tryLaunch = (g: HostGroupSpec, reason: string): boolean => {
    const pool = poolByName.get(g.pool);
    const inPool = poolSize.get(g.pool) ?? 0;
    if ((launchedIn.get(g.pool) ?? 0) >= cfg.maxLaunchPerPass) {
      held.set(g.pool, `at most ${cfg.maxLaunchPerPass} launches per pass`);
      return false;
    }
    if (pool && inPool >= pool.maxSize) {
      held.set(g.pool, `pool ${g.pool} is at its maximum size ${pool.maxSize}`);
      return false;
    }
    if ((groupSize.get(g.name) ?? 0) >= g.maxSize) {
      held.set(g.pool, `group ${g.name} is at its maximum size ${g.maxSize}`);
      return false;
    }
    if (spend + g.pricePerHour > cfg.budgetPerHour + 1e-9) {
      held.set(
        g.pool,
        `budget cap: ${spend.toFixed(2)} + ${g.pricePerHour.toFixed(2)} USD/h would pass ${cfg.budgetPerHour.toFixed(2)} USD/h`,
      );
      return false;
    }
    spend += g.pricePerHour;
    poolSize.set(g.pool, inPool + 1);
    groupSize.set(g.name, (groupSize.get(g.name) ?? 0) + 1);
    launchedIn.set(g.pool, (launchedIn.get(g.pool) ?? 0) + 1);
    const l = launches.get(g.name) ?? { group: g, count: 0, reasons: new Set<string>() };
    l.count++;
    l.reasons.add(reason);
    launches.set(g.name, l);
    return true;
  };
  /** the capacity type a new host must have: on-demand until the pool's on-demand base is met */
  const wantFor = (pool: string, predicted: number): CapacityType => {
    const base = poolByName.get(pool)?.onDemandBase ?? 0;
    const od =
      onDemandIn(pool) +
      [...launches.values()].filter((l) => l.group.pool === pool && l.group.capacityType === "on-demand").reduce((s, l) => s + l.count, 0);
    return od < base ? "on-demand" : capacityTypeFor(predicted, cfg);
  };
  for (const t of unfit) {
    // room on a host launched earlier in this pass?
    const s = slots.filter((x) => slotFits(x, t))[0];
    if (s) {
      take(s, t);
      continue;
    }
    const poolGroups = state.groups;
    const firstPick = chooseGroup(poolGroups, t, "spot");
    if (!firstPick) {
      held.set("-", `task ${t.id} (${t.taskPool}: ${t.cpuMillis}m CPU, ${t.memoryMb} MB, ${t.gpus} GPU) fits no host group`);
      continue;
    }
    const want = wantFor(firstPick.pool, t.predictedSeconds);
    const g =
      chooseGroup(
        poolGroups.filter((x) => x.pool === firstPick.pool),
        t,
        want,
      ) ?? firstPick;
    const why =
      want === "spot"
        ? `predicted ${Math.round(t.predictedSeconds / 60)} min < ${Math.round(cfg.spotMaxPredictedSeconds / 60)} min: spot`
        : `on-demand (${onDemandIn(g.pool) < (poolByName.get(g.pool)?.onDemandBase ?? 0) ? "on-demand base" : `predicted ${Math.round(t.predictedSeconds / 60)} min`})`;
    if (tryLaunch(g, `a waiting ${t.taskPool} task fits no running host; ${why}`)) {
      const slot: Slot = { group: g, cpu: g.cpuMillis, mem: g.memoryMb, gpus: g.gpus };
      take(slot, { ...t, cpuMillis: Math.min(t.cpuMillis, g.cpuMillis) });
      slots.push(slot);
    }
  }

  // 2. Occupancy: a pool running hot gets one more host as headroom, unless one is already
  // booting or a running host of the pool is idle (that host is the headroom).
  for (const p of state.pools) {
    const occ = occupancy(state, p.name);
    const inPool = (h: HostState) => groupByName.get(h.group)?.pool === p.name;
    const booting = state.hosts.some((h) => h.state === "booting" && inPool(h));
    const idleHeadroom = state.hosts.some((h) => h.state === "running" && h.runningTasks === 0 && inPool(h));
    // room a running task is predicted to free before a new host could boot is headroom too
    const roomSoon = state.hosts.some(
      (h) => h.state === "running" && inPool(h) && h.nextEndInMs !== undefined && h.nextEndInMs <= cfg.expectedBootMs,
    );
    // headroom is for arrivals: a pool whose last scale-out is a cool-down past has seen none that needed room
    const arriving = state.nowMs - (state.lastScaleOutMs[p.name] ?? -Infinity) < cfg.scaleInCooldownMs;
    if (occ > cfg.highOccupancy && arriving && !booting && !idleHeadroom && !roomSoon && !launchedIn.get(p.name)) {
      const groups = state.groups.filter((g) => g.pool === p.name);
      const want = wantFor(p.name, 0);
      const g = groups.find((x) => x.capacityType === want) ?? groups[0];
      if (g) tryLaunch(g, `occupancy ${(occ * 100).toFixed(0)}% > ${(cfg.highOccupancy * 100).toFixed(0)}%`);
    }
  }
  for (const l of launches.values()) {
    decisions.push({
      action: "launch",
      pool: l.group.pool,
      group: l.group.name,
      capacityType: l.group.capacityType,
      count: l.count,
      reason: [...l.reasons].join("; "),
    });
  }
  for (const [pool, reason] of held) decisions.push({ action: "hold", pool, reason });

  // 3. Retire: preempted hosts go at once (their tasks were requeued on the notice);
  // drained hosts go when their last task ends; idle ones are drained after the cool-down.
  const waitingFitsGroup = (g: HostGroupSpec) => state.waiting.some((t) => fits(g, t));
  const poolWaiting = (pool: string) => state.groups.some((g) => g.pool === pool && waitingFitsGroup(g));
  for (const p of state.pools) {
    const occ = occupancy(state, p.name);
    const poolHosts = state.hosts.filter((h) => groupByName.get(h.group)?.pool === p.name);
    const poolBusy =
      poolHosts.some((h) => h.runningTasks > 0) || state.waiting.some((t) => state.groups.some((g) => g.pool === p.name && fits(g, t)));
    let onDemand = poolHosts.filter((h) => groupByName.get(h.group)?.capacityType === "on-demand" && live(h)).length;
    const sinceScaleOut = state.nowMs - (state.lastScaleOutMs[p.name] ?? -Infinity);
    // the most expensive idle hosts go first
    const ordered = [...poolHosts].sort(
      (a, b) => groupByName.get(b.group)!.pricePerHour - groupByName.get(a.group)!.pricePerHour || a.id.localeCompare(b.id),
    );
    // with nothing waiting, the idle hosts beyond the reserve have no work in sight: the cool-down
    // (a bet that work comes back within a boot) is placed on the reserve alone
    const idle = ordered.filter((h) => h.state === "running" && h.runningTasks === 0 && h.idleSinceMs !== undefined);
    let surplus = poolWaiting(p.name) ? 0 : Math.max(0, idle.length - cfg.idleReserve);
    for (const h of ordered) {
      const g = groupByName.get(h.group)!;
      if (h.state === "preempted") {
        decisions.push({
          action: "terminate",
          pool: p.name,
          group: g.name,
          hostId: h.id,
          reason: "spot interruption notice: host is being reclaimed",
        });
        continue;
      }
      if (h.state === "draining") {
        if (h.runningTasks === 0)
          decisions.push({ action: "terminate", pool: p.name, group: g.name, hostId: h.id, reason: "drained: no running tasks" });
        continue;
      }
      if (h.state !== "running" || h.runningTasks > 0 || h.idleSinceMs === undefined) continue;
      // below the low threshold the pool has room to spare; above it, an idle host is
      // still surplus if the rest of the pool stays below the high threshold without it
      const without = occupancyWithout(state, p.name, h.id);
      const isSurplus = surplus > 0 && (g.capacityType !== "on-demand" || onDemand > p.onDemandBase);
      if (isSurplus) surplus--;
      else {
        if (occ >= cfg.lowOccupancy && without > cfg.highOccupancy) continue;
        if (state.nowMs - h.idleSinceMs < cfg.scaleInCooldownMs || sinceScaleOut < cfg.scaleInCooldownMs) continue;
      }
      if (waitingFitsGroup(g)) continue;
      if (g.capacityType === "on-demand" && poolBusy && onDemand <= p.onDemandBase) continue;
      if (g.capacityType === "on-demand") onDemand--;
      decisions.push({
        action: "drain",
        pool: p.name,
        group: g.name,
        hostId: h.id,
        reason: isSurplus
          ? `idle, nothing waits in pool ${p.name} (${idle.length} idle, reserve ${cfg.idleReserve}): no cool-down`
          : occ < cfg.lowOccupancy
            ? `idle ${Math.round((state.nowMs - h.idleSinceMs) / 1000)} s, pool occupancy ${(occ * 100).toFixed(0)}% < ${(cfg.lowOccupancy * 100).toFixed(0)}%`
            : `idle ${Math.round((state.nowMs - h.idleSinceMs) / 1000)} s, surplus: the pool stays at ${(without * 100).toFixed(0)}% without it`,
      });
    }
  }
  return decisions;
}

/**
 * The task pools whose long tasks wait for on-demand room rather than run on spot
 * (placement's longTasksOnDemandOnly): those an on-demand group serves, for which
 * planning launches on-demand hosts; true when one serves every pool. A pool with
 * spot groups only is left out, or its long tasks would wait for ever.
 */
export function onDemandTaskPools(groups: Pick<HostGroupSpec, "capacityType" | "taskPools">[]): boolean | ReadonlySet<string> {
  const onDemand = groups.filter((g) => g.capacityType === "on-demand");
  if (onDemand.length === 0) return false;
  if (onDemand.some((g) => g.taskPools.length === 0)) return true;
  return new Set(onDemand.flatMap((g) => g.taskPools));
}
