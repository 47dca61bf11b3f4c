// One active scheduler per region. Every manager replica runs this loop, but
// only the holder of the PostgreSQL advisory lock places work; the others keep
// trying, so a replica's death hands scheduling to another within a second.
import {
  AdvisoryLeadership,
  expireCoordinators,
  goneCoordinatorsWithWork,
  jobsAwaitingFinalisation,
  leaseTasks,
  listCoordinatorsWithLoad,
  readyTasks,
  requeueCoordinatorTasks,
  type Db,
  type FinishOutcome,
  type LeasedTask,
} from "../store/index.js";
import { placeTasks, type HostFree, type TaskNeeds } from "./placement.js";

export const SCHEDULER_LOCK_KEY = 0x66666c74; // "fflt"

export interface PassStats {
  placed: number;
  /** coordinators that received work in this pass */
  placedOn: Set<string>;
  unplaced: TaskNeeds[];
  hosts: HostFree[];
  durationMs: number;
}

export interface SchedulerOptions {
  db: Db;
  dbUrl: string;
  /** pushes leases to the coordinators' streams (this replica's, or another's via NOTIFY) */
  deliver(leased: LeasedTask[]): Promise<void>;
  /** every task of a job is terminal */
  finalizeJob(jobId: string): Promise<void>;
  /** attempts stopped because a job failed while requeuing a lost host */
  onRequeued?(outcomes: FinishOutcome[]): void;
  onPass?(stats: PassStats): void;
  onLeadershipChange?(leader: boolean): void;
  heartbeatTimeoutMs: number;
  idlePassMs?: number;
  batchSize?: number;
  /** tasks predicted to run this long stay off spot hosts while an on-demand host fits (default 90 minutes) */
  longTaskSeconds?: number;
  /** a long task never goes to a spot host: set where the autoscaler can launch on-demand hosts for it */
  longTasksOnDemandOnly?: boolean | ReadonlySet<string>;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export class Scheduler {
  private readonly leadership: AdvisoryLeadership;
  private running = false;
  private woken = false;
  private wakeResolve: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private lastSweep = 0;

  constructor(private readonly opts: SchedulerOptions) {
    this.leadership = new AdvisoryLeadership(opts.dbUrl, SCHEDULER_LOCK_KEY, () => {
      opts.log?.("scheduler lost leadership");
      opts.onLeadershipChange?.(false);
    });
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  wake(): void {
    this.woken = true;
    this.wakeResolve?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
    await this.leadership.release();
  }

  private async loop(): Promise<void> {
    const idle = this.opts.idlePassMs ?? 500;
    while (this.running) {
      let busy = false;
      try {
        const wasLeader = this.leadership.isLeader;
        if (await this.leadership.tryAcquire()) {
          if (!wasLeader) {
            this.opts.log?.("scheduler is leader");
            this.opts.onLeadershipChange?.(true);
          }
          if (Date.now() - this.lastSweep >= 1000) {
            this.lastSweep = Date.now();
            await this.sweep();
          }
          busy = (await this.pass()).full;
        }
      } catch (err) {
        this.opts.log?.("scheduler pass failed", { error: String(err) });
      }
      if (!busy && this.running) await this.sleep(this.leadership.isLeader ? idle : 1000);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakeResolve = undefined;
        this.woken = false;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeResolve = done;
    });
  }

  /** One placement pass; public so tests and benchmarks can drive it step by step. */
  async pass(): Promise<{ placed: number; full: boolean }> {
    const t0 = performance.now();
    const batch = this.opts.batchSize ?? 2000;
    const [coordinators, tasks] = await Promise.all([
      listCoordinatorsWithLoad(this.opts.db, { liveOnly: true }),
      readyTasks(this.opts.db, batch),
    ]);
    const hosts: HostFree[] = coordinators.map((c) => ({
      id: c.id,
      pools: c.pools,
      freeCpuMillis: c.cpuMillis - c.usedCpuMillis,
      totalCpuMillis: c.cpuMillis,
      freeMemoryMb: Number(c.memoryMb) - Number(c.usedMemoryMb),
      freeGpus: c.gpus - c.usedGpus,
      // an engine reported with an image digest is an image the host holds, not a binary it can run directly
      engines: c.engines.filter((e) => !e.imageDigest),
      pullsImages: c.pullsImages,
      imageDigests: c.engines.flatMap((e) => (e.imageDigest ? [digestOf(e.imageDigest)] : [])),
      capacityType: c.capacityType,
      ...(c.busyForSeconds === null ? {} : { busyForSeconds: c.busyForSeconds }),
    }));
    const { placements, unplaced } = placeTasks(tasks, hosts, {
      longTaskSeconds: this.opts.longTaskSeconds,
      longTasksOnDemandOnly: this.opts.longTasksOnDemandOnly,
    });
    const leased = await leaseTasks(this.opts.db, placements);
    if (leased.length > 0) await this.opts.deliver(leased);
    this.opts.onPass?.({
      placed: leased.length,
      placedOn: new Set(leased.map((l) => l.coordinatorId)),
      unplaced,
      hosts,
      durationMs: performance.now() - t0,
    });
    return { placed: leased.length, full: tasks.length === batch && leased.length > 0 };
  }

  /** Retires hosts whose heartbeat lapsed (requeuing their attempts) and finalises settled jobs. */
  async sweep(): Promise<void> {
    const expired = await expireCoordinators(this.opts.db, this.opts.heartbeatTimeoutMs);
    const gone = new Set([...expired, ...(await goneCoordinatorsWithWork(this.opts.db))]);
    for (const id of gone) {
      this.opts.log?.("coordinator lost (heartbeat lapsed or retired); requeuing its tasks", { coordinator: id });
      const outcomes = await requeueCoordinatorTasks(this.opts.db, id, `coordinator ${id} stopped heartbeating`);
      this.opts.onRequeued?.(outcomes);
      for (const o of outcomes) if (o.jobSettled && o.jobId) await this.opts.finalizeJob(o.jobId);
    }
    for (const jobId of await jobsAwaitingFinalisation(this.opts.db)) await this.opts.finalizeJob(jobId);
  }
}

/** Coordinators may report a digest alone (sha256:...) or the whole reference (repo@sha256:...); placement compares digests. */
function digestOf(image: string): string {
  const at = image.lastIndexOf("@");
  return at >= 0 ? image.slice(at + 1) : image;
}
