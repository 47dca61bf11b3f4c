// Workload traces for the simulator (seeded, so every run replays the same
// arrivals): a bursty fortnight of live-length jobs with idle days, and a VOD
// month of about 500,000 input minutes with catalog re-encode bursts. Task
// shapes follow the engine's planner: chunked encodes per rendition with the
// requirements of runtime/engine/plan.ts, then one packaging task per job.
import { rng, type SimJob, type SimTask } from "./simulator.js";
import type { HostGroupSpec, WorkerPoolSpec } from "./policy.js";
import { INSTANCE_PRICES } from "./pricing.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Rendition {
  height: number;
  cpuMillis: number;
  memoryMb: number;
  factor: number;
}
/** seconds of work per second of media on the rendition's CPU share (x264 medium) */
const LADDER: Rendition[] = [
  { height: 360, cpuMillis: 1000, memoryMb: 1024, factor: 0.3 },
  { height: 720, cpuMillis: 2000, memoryMb: 2048, factor: 0.6 },
  { height: 1080, cpuMillis: 4000, memoryMb: 4096, factor: 1.0 },
];
const UHD: Rendition = { height: 2160, cpuMillis: 8000, memoryMb: 8192, factor: 2.5 };

let seq = 0;

function job(
  random: () => number,
  arrivalMs: number,
  contentMinutes: number,
  opts: { chunkMinutes: number | null; uhd: boolean; deadlineMs: number },
): SimJob {
  const id = `j${++seq}`;
  const ladder = opts.uhd ? [...LADDER, UHD] : LADDER;
  const encode: SimTask[] = [];
  for (const r of ladder) {
    const chunks = opts.chunkMinutes ? Math.max(1, Math.ceil(contentMinutes / opts.chunkMinutes)) : 1;
    const seconds = (contentMinutes * 60) / chunks;
    for (let c = 0; c < chunks; c++) {
      const predicted = seconds * r.factor;
      // the real run time strays ±25% from the prediction
      encode.push({
        id: `${id}-${r.height}-${c}`,
        taskPool: "encode",
        cpuMillis: r.cpuMillis,
        memoryMb: r.memoryMb,
        gpus: 0,
        predictedSeconds: predicted,
        runSeconds: predicted * (0.75 + random() * 0.5),
      });
    }
  }
  const pkgSeconds = 20 + contentMinutes * 0.5;
  const out: SimJob["outputMinutes"] = { SD: contentMinutes, HD: contentMinutes * 2, ...(opts.uhd ? { UHD: contentMinutes } : {}) };
  return {
    id,
    arrivalMs,
    deadlineMs: arrivalMs + opts.deadlineMs,
    encode,
    outputMinutes: out,
    finish: {
      id: `${id}-package`,
      taskPool: "package",
      cpuMillis: 1000,
      memoryMb: 1024,
      gpus: 0,
      predictedSeconds: pkgSeconds,
      runSeconds: pkgSeconds,
    },
  };
}

export interface Trace {
  name: string;
  description: string;
  jobs: SimJob[];
  periodMs: number;
  inputMinutes: number;
}

/**
 * A bursty fortnight: on about half the days, two to four bursts in which one
 * to three live-length jobs (1–3 h of media each) run at once; the other days
 * are idle. Chunks of 10 minutes; each job is due 45 minutes after it arrives.
 */
export function burstyLiveTrace(seed = 1, days = 14): Trace {
  const random = rng(seed);
  const jobs: SimJob[] = [];
  for (let d = 0; d < days; d++) {
    if (random() < 0.45) continue; // an idle day
    const bursts = 2 + Math.floor(random() * 3);
    for (let b = 0; b < bursts; b++) {
      const at = d * DAY + (7 + random() * 14) * HOUR;
      const concurrent = 1 + Math.floor(random() * 3);
      for (let k = 0; k < concurrent; k++) {
        jobs.push(job(random, at + random() * 10 * 60_000, 60 + random() * 120, { chunkMinutes: 10, uhd: false, deadlineMs: 45 * 60_000 }));
      }
    }
  }
  return {
    name: "bursty-live",
    description: `${days} days, bursts of 1–3 concurrent live-length jobs, idle days`,
    jobs,
    periodMs: days * DAY,
    inputMinutes: sum(jobs),
  };
}

/**
 * A VOD month of about 500,000 input minutes: episodes and films arriving
 * around the clock with a daytime peak, plus three catalog re-encodes of about
 * 40,000 minutes each submitted over four hours. 10% of titles add a UHD
 * rendition; 3% are film masters encoded whole (not chunked), which run for
 * hours and so go to on-demand capacity.
 */
export function vodMonthTrace(seed = 2, targetMinutes = 500_000, days = 30): Trace {
  const random = rng(seed);
  const jobs: SimJob[] = [];
  const catalogMinutes = 3 * 40_000;
  let flowMinutes = 0;
  while (flowMinutes < targetMinutes - catalogMinutes) {
    // diurnal arrivals: thin a uniform draw by a day-shaped intensity
    let at: number;
    for (;;) {
      at = random() * days * DAY;
      const hour = (at % DAY) / HOUR;
      if (random() < 0.35 + 0.65 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI))) break;
    }
    const film = random() < 0.3;
    const minutes = film ? 80 + random() * 50 : 5 + random() * 40;
    const master = film && random() < 0.1;
    jobs.push(job(random, at, minutes, { chunkMinutes: master ? null : 10, uhd: random() < 0.1, deadlineMs: 8 * HOUR }));
    flowMinutes += minutes;
  }
  for (let c = 0; c < 3; c++) {
    const startAt = (5 + c * 10 + random() * 3) * DAY + 20 * HOUR;
    let m = 0;
    while (m < catalogMinutes / 3) {
      const minutes = 20 + random() * 40;
      jobs.push(job(random, startAt + random() * 4 * HOUR, minutes, { chunkMinutes: 10, uhd: false, deadlineMs: 48 * HOUR }));
      m += minutes;
    }
  }
  return {
    name: "vod-month",
    description: `${days} days, ~${Math.round(targetMinutes / 1000)}k input minutes, three catalog re-encode bursts`,
    jobs,
    periodMs: days * DAY,
    inputMinutes: sum(jobs),
  };
}

function sum(jobs: SimJob[]): number {
  return jobs.reduce((s, j) => s + (j.outputMinutes.SD ?? 0), 0);
}

/**
 * The AWS worker pool the benchmark scales: one or more host shapes, each as a
 * spot and an on-demand group of one pool (default c7i.4xlarge alone; the
 * benchmark offers c7i.xlarge and c7i.2xlarge, and the policy picks the shape
 * per launch).
 */
export function benchFleet(
  maxSize = 400,
  instanceTypes: string | string[] = "c7i.4xlarge",
): { groups: HostGroupSpec[]; pools: WorkerPoolSpec[] } {
  const types = typeof instanceTypes === "string" ? [instanceTypes] : instanceTypes;
  const groups: HostGroupSpec[] = [];
  for (const [i, instanceType] of types.entries()) {
    const p = INSTANCE_PRICES[instanceType];
    if (!p) throw new Error(`no list price for ${instanceType} in pricing.ts`);
    // the first shape keeps the plain group names (cpu-spot, cpu-od)
    const suffix = i === 0 ? "" : `-${instanceType}`;
    const shape = { instanceType, taskPools: [], cpuMillis: p.cpuMillis, memoryMb: p.memoryMb, gpus: 0, maxSize };
    groups.push(
      { ...shape, name: `cpu-spot${suffix}`, pool: "cpu", capacityType: "spot", pricePerHour: p.spotPerHour },
      { ...shape, name: `cpu-od${suffix}`, pool: "cpu", capacityType: "on-demand", pricePerHour: p.onDemandPerHour },
    );
  }
  return { groups, pools: [{ name: "cpu", onDemandBase: 0, maxSize }] };
}
