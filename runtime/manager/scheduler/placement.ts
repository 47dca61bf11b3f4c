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
  engines: { name: string; version: string }[];
}

export interface Placement {
  taskId: string;
  coordinatorId: string;
}

/**
 * Tasks arrive ordered by priority then age and are placed in that order
 * (a lower-priority task never takes room a higher one could use in the same
 * pass). Each goes to the fitting host with the least CPU left afterwards
 * (best fit), which packs work onto few hosts so idle ones can be retired.
 */
export function placeTasks(tasks: TaskNeeds[], hosts: HostFree[]): { placements: Placement[]; unplaced: TaskNeeds[] } {
  const free = hosts.map((h) => ({ ...h, pools: new Set(h.pools), engineCache: new Map<string, boolean>() }));
  const placements: Placement[] = [];
  const unplaced: TaskNeeds[] = [];
  for (const t of tasks) {
    let best: (typeof free)[number] | undefined;
    const engineKey = `${t.engineName}\u0000${t.engineVersion}`;
    for (const h of free) {
      if (h.freeCpuMillis < cpuNeed(t, h) || h.freeMemoryMb < t.memoryMb || h.freeGpus < t.gpus) continue;
      if (h.pools.size > 0 && !h.pools.has(t.pool)) continue;
      let ok = h.engineCache.get(engineKey);
      if (ok === undefined) {
        ok = h.engines.some((e) => engineMatches({ name: t.engineName, version: t.engineVersion }, e));
        h.engineCache.set(engineKey, ok);
      }
      if (!ok) continue;
      // a CPU-only task should not sit on a GPU host while a CPU host fits
      if (!best || rank(h, t) < rank(best, t)) best = h;
    }
    if (!best) {
      unplaced.push(t);
      continue;
    }
    best.freeCpuMillis -= cpuNeed(t, best);
    best.freeMemoryMb -= t.memoryMb;
    best.freeGpus -= t.gpus;
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

function rank(h: { freeCpuMillis: number; freeGpus: number; totalCpuMillis?: number }, t: TaskNeeds): number {
  const gpuPenalty = t.gpus === 0 && h.freeGpus > 0 ? 1e9 : 0;
  return gpuPenalty + (h.freeCpuMillis - cpuNeed(t, h));
}
