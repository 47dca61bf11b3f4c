// Pure placement: which ready task goes to which coordinator. No I/O, so it is
// tested on constructed states and benchmarked on its own.
import { engineMatches } from "../../engine/discover.js";

export interface TaskNeeds {
  id: string;
  pool: string;
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
  engineName: string;
  engineVersion: string;
  /**
   * sha256:<hex> of the engine image the task runs; absent or null for the
   * hosts' own binaries. An image task needs a host that pulls images or holds it.
   */
  imageDigest?: string | null;
  /** the autoscaler's run-time prediction (tasks.predicted_seconds); absent or null while there is none */
  predictedSeconds?: number | null;
}

export interface HostFree {
  id: string;
  /** pools served; empty means every pool */
  pools: string[];
  freeCpuMillis: number;
  /** the host's whole CPU; a task asking for more than any host has takes a whole idle host */
  totalCpuMillis?: number;
  freeMemoryMb: number;
  freeGpus: number;
  /** host-binary engines (process runner); images the host holds are in imageDigests */
  engines: { name: string; version: string }[];
  /** runs engines as images and can pull any registered one */
  pullsImages?: boolean;
  /** digests (sha256:<hex>) of the engine images already on the host */
  imageDigests?: string[];
  /** spot | on-demand | local (coordinators.capacity_type) */
  capacityType?: string;
  /** predicted seconds until the host's running tasks have all ended (0: it runs nothing); absent when unknown */
  busyForSeconds?: number;
}

export interface PlacementOptions {
  /**
   * tasks predicted to run at least this long stay off spot hosts while an
   * on-demand host fits (the autoscaler's spotMaxPredictedSeconds; default 90 minutes)
   */
  longTaskSeconds?: number;
  /**
   * A long task of these task pools (true: of every pool) never goes to a spot host, it
   * waits for on-demand room: the pools an on-demand group serves, for which the
   * autoscaler launches one. A pool with spot groups only runs its long tasks on spot.
   */
  longTasksOnDemandOnly?: boolean | ReadonlySet<string>;
}

export interface Placement {
  taskId: string;
  coordinatorId: string;
}

/**
 * Tasks arrive ordered by priority then age and are placed in that order
 * (a lower-priority task never takes room a higher one could use in the same
 * pass). Each goes to the fitting host with the least CPU left afterwards
 * (best fit), which packs work onto few hosts so idle ones can be retired;
 * where run times are predicted, first to the host whose running work ends
 * closest to when the task would (see endMismatch), and a long task to an
 * on-demand host before any spot host.
 */
export function placeTasks(
  tasks: TaskNeeds[],
  hosts: HostFree[],
  opts: PlacementOptions = {},
): { placements: Placement[]; unplaced: TaskNeeds[] } {
  const longTask = opts.longTaskSeconds ?? 90 * 60;
  const only = opts.longTasksOnDemandOnly;
  const onDemandOnly = (pool: string) => only === true || (typeof only === "object" && only.has(pool));
  const free = hosts.map((h) => ({ ...h, pools: new Set(h.pools), engineCache: new Map<string, boolean>() }));
  const placements: Placement[] = [];
  const unplaced: TaskNeeds[] = [];
  for (const t of tasks) {
    let best: (typeof free)[number] | undefined;
    const engineKey = `${t.engineName}\u0000${t.engineVersion}\u0000${t.imageDigest ?? ""}`;
    for (const h of free) {
      if (h.freeCpuMillis < cpuNeed(t, h) || h.freeMemoryMb < t.memoryMb || h.freeGpus < t.gpus) continue;
      if (h.pools.size > 0 && !h.pools.has(t.pool)) continue;
      if (h.capacityType === "spot" && t.predictedSeconds != null && t.predictedSeconds >= longTask && onDemandOnly(t.pool)) continue;
      let ok = h.engineCache.get(engineKey);
      if (ok === undefined) {
        // an image runs only in a container: on a host that can pull it or already has it, never on host binaries
        ok = t.imageDigest
          ? h.pullsImages === true || (h.imageDigests?.includes(t.imageDigest) ?? false)
          : h.engines.some((e) => engineMatches({ name: t.engineName, version: t.engineVersion }, e));
        h.engineCache.set(engineKey, ok);
      }
      if (!ok) continue;
      // a CPU-only task should not sit on a GPU host while a CPU host fits
      if (!best || rank(h, t, longTask) < rank(best, t, longTask)) best = h;
    }
    if (!best) {
      unplaced.push(t);
      continue;
    }
    best.freeCpuMillis -= cpuNeed(t, best);
    best.freeMemoryMb -= t.memoryMb;
    best.freeGpus -= t.gpus;
    if (best.busyForSeconds !== undefined && t.predictedSeconds != null)
      best.busyForSeconds = Math.max(best.busyForSeconds, t.predictedSeconds);
    placements.push({ taskId: t.id, coordinatorId: best.id });
  }
  return { placements, unplaced };
}

/**
 * CPU is the one resource a task may oversubscribe: an encode sized for four
 * cores still runs on a two-core host, only slower, so it takes the whole host
 * rather than never running. Memory and GPUs are never oversubscribed.
 */
function cpuNeed(t: TaskNeeds, h: { totalCpuMillis?: number }): number {
  return h.totalCpuMillis !== undefined ? Math.min(t.cpuMillis, h.totalCpuMillis) : t.cpuMillis;
}

function rank(h: Omit<HostFree, "pools">, t: TaskNeeds, longTask: number): number {
  const gpuPenalty = t.gpus === 0 && h.freeGpus > 0 ? 1e9 : 0;
  // a long task on a spot host risks hours of work to a reclaim: every fitting on-demand host comes
  // first (the autoscaler asked for on-demand room for it), yet a spot host beats leaving it waiting
  const spotPenalty = t.predictedSeconds != null && t.predictedSeconds >= longTask && h.capacityType === "spot" ? 4e8 : 0;
  // a host that must pull the image first ranks after every host holding it (a pull costs more than a
  // looser fit), yet before a GPU host for CPU work; below 1e8 millicores (100,000 cores) best fit decides
  const pullPenalty = t.imageDigest && !h.imageDigests?.includes(t.imageDigest) ? 1e8 : 0;
  return gpuPenalty + spotPenalty + pullPenalty + endMismatch(h, t) + (h.freeCpuMillis - cpuNeed(t, h));
}

/**
 * Host time a placement leaves unused, when both ends are predicted, in
 * tenths of a core-second (below 1e8 for any task shorter than a day on up to 64
 * cores): a task that outlasts the host's other work keeps the rest of the
 * host running for the difference; one that ends first leaves its own share
 * idle until the host's last task ends. Hosts whose tasks end together empty
 * together and can be retired; the best-fit term only breaks ties.
 */
function endMismatch(h: Omit<HostFree, "pools">, t: TaskNeeds): number {
  if (t.predictedSeconds == null || h.busyForSeconds === undefined) return 0;
  const total = h.totalCpuMillis ?? h.freeCpuMillis;
  const need = cpuNeed(t, h);
  const outlasts = Math.max(0, t.predictedSeconds - h.busyForSeconds);
  const endsFirst = Math.max(0, h.busyForSeconds - t.predictedSeconds);
  return Math.round((outlasts * Math.max(0, total - need) + endsFirst * need) / 100);
}
