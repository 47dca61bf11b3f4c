// The embedded region's fleet: coordinator processes on this machine, started
// when work waits that no running coordinator can take, and stopped when they
// have been idle for a while, so an idle region runs no coordinator at all.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { tsEntry } from "../../ts-entry.js";
import { createSecretToken, identityOf } from "../../pki/index.js";
import { insertJoinToken, listCoordinatorsWithLoad, markGone, requeueCoordinatorTasks, type Db } from "../store/index.js";
import type { PassStats } from "../scheduler/scheduler.js";
import type { FleetProvider, GroupSnapshot } from "./provider.js";

/** The local provider's one group: coordinator processes on this machine. */
export const LOCAL_GROUP = "local";

export interface LocalFleetOptions {
  db: Db;
  region: string;
  managerAddress: string;
  joinAddress: string;
  trustPem: string;
  stateRoot: string;
  maxCoordinators: number;
  idleTimeoutMs: number;
  /** capacity each local coordinator reports; default: this machine divided by maxCoordinators */
  cpuMillis?: number;
  memoryMb?: number;
  env?: Record<string, string>;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

interface Member {
  n: number;
  child: ChildProcess;
  stateDir: string;
  coordinatorId?: string;
  idleSince?: number;
  stopping: boolean;
  startedAt: number;
}

/**
 * The local provider. On its own (`onPass`) it starts a coordinator when
 * waiting work fits one and none is booting, and retires one that has been idle
 * for `idleTimeoutMs` or that drained (a spot notice, an operator's drain); as a
 * FleetProvider it lets the autoscaler drive the same processes.
 */
export class LocalFleet implements FleetProvider {
  readonly kind = "local" as const;
  private readonly members = new Map<number, Member>();
  private next = 1;
  private stopped = false;
  // onPass is fired without awaiting after every scheduling pass, and passes can overlap: one
  // pass at a time, the newest stats kept for the next, or two passes both see room and each start
  // a coordinator past maxCoordinators
  private passing = false;
  private pendingPass: PassStats | undefined;

  constructor(private readonly opts: LocalFleetOptions) {
    fs.mkdirSync(opts.stateRoot, { recursive: true, mode: 0o700 });
  }

  size(): number {
    return this.members.size;
  }

  cpuMillis(): number {
    return this.opts.cpuMillis ?? Math.floor((os.availableParallelism() * 1000) / this.opts.maxCoordinators);
  }

  memoryMb(): number {
    return this.opts.memoryMb ?? Math.floor(os.totalmem() / 1024 / 1024 / this.opts.maxCoordinators);
  }

  /** Called after each scheduling pass with what could not be placed. */
  async onPass(stats: PassStats): Promise<void> {
    if (this.passing) {
      this.pendingPass = stats;
      return;
    }
    this.passing = true;
    try {
      for (let next: PassStats | undefined = stats; next; next = this.pendingPass) {
        this.pendingPass = undefined;
        await this.pass(next);
      }
    } finally {
      this.passing = false;
    }
  }

  private async pass(stats: PassStats): Promise<void> {
    if (this.stopped) return;
    for (const m of this.members.values()) this.learnId(m);
    // CPU may be oversubscribed by a big task (placement gives it a whole host); memory and GPUs may not
    const fitsNew = stats.unplaced.some((t) => t.memoryMb <= this.memoryMb() && t.gpus === 0);
    const booting = [...this.members.values()].some(
      (m) => !m.stopping && (!m.coordinatorId || !stats.hosts.some((h) => h.id === m.coordinatorId)) && Date.now() - m.startedAt < 30_000,
    );
    if (fitsNew && !booting && this.members.size < this.opts.maxCoordinators) await this.add();
    const now = Date.now();
    for (const m of this.members.values()) {
      if (m.stopping || !m.coordinatorId) continue;
      const host = stats.hosts.find((h) => h.id === m.coordinatorId);
      // a coordinator that drained (it leaves the scheduler's view) goes once it runs nothing
      if (!host && (await this.drainedAndIdle(m.coordinatorId))) {
        await this.retire(m, "drained");
        continue;
      }
      const idle = host && !stats.placedOn.has(host.id) && host.freeCpuMillis >= this.cpuMillis() && stats.unplaced.length === 0;
      if (!idle) {
        m.idleSince = undefined;
        continue;
      }
      m.idleSince ??= now;
      if (now - m.idleSince >= this.opts.idleTimeoutMs) await this.retire(m, "idle");
    }
  }

  private async add(): Promise<void> {
    const n = this.next++;
    const stateDir = path.join(this.opts.stateRoot, `coordinator-${n}`);
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const trustFile = path.join(stateDir, "bootstrap-trust.crt");
    fs.writeFileSync(trustFile, this.opts.trustPem, { mode: 0o600 });
    const tok = createSecretToken("ffjt");
    await insertJoinToken(this.opts.db, {
      id: tok.lookupId,
      hash: tok.hash,
      region: this.opts.region,
      expiresAt: new Date(Date.now() + 10 * 60_000),
    });
    const entry = tsEntry("coordinator/main.ts");
    const child = spawn(entry.command, entry.args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        ...process.env,
        ...this.opts.env,
        FRAMEFLEET_MANAGER: this.opts.managerAddress,
        FRAMEFLEET_JOIN: this.opts.joinAddress,
        FRAMEFLEET_JOIN_TOKEN: tok.token,
        FRAMEFLEET_TRUST_FILE: trustFile,
        FRAMEFLEET_STATE_DIR: stateDir,
        FRAMEFLEET_CPU_MILLIS: String(this.cpuMillis()),
        FRAMEFLEET_MEMORY_MB: String(this.memoryMb()),
        FRAMEFLEET_CAPACITY_TYPE: "local",
      },
    });
    const m: Member = { n, child, stateDir, stopping: false, startedAt: Date.now() };
    this.members.set(n, m);
    this.opts.log?.("local fleet: started a coordinator", { n, pid: child.pid });
    child.on("exit", (code, signal) => {
      this.members.delete(n);
      this.opts.log?.("local fleet: coordinator exited", { n, code, signal });
      if (m.coordinatorId) void markGone(this.opts.db, m.coordinatorId).catch(() => {});
    });
  }

  private async drainedAndIdle(coordinatorId: string): Promise<boolean> {
    const c = (await listCoordinatorsWithLoad(this.opts.db, { liveOnly: false })).find((x) => x.id === coordinatorId);
    return c?.state === "draining" && c.runningTasks === 0;
  }

  // ---- FleetProvider: the autoscaler's view of the same processes (one group, "local")

  async describe(group: string): Promise<GroupSnapshot> {
    this.checkGroup(group);
    for (const m of this.members.values()) this.learnId(m);
    const connected = new Set(
      (await listCoordinatorsWithLoad(this.opts.db, { liveOnly: false })).filter((c) => c.state !== "joined").map((c) => c.id),
    );
    return {
      group,
      desired: [...this.members.values()].filter((m) => !m.stopping).length,
      min: 0,
      max: this.opts.maxCoordinators,
      instances: [...this.members.values()].map((m) => ({
        id: `local-${m.n}`,
        state: m.stopping
          ? ("terminating" as const)
          : m.coordinatorId && connected.has(m.coordinatorId)
            ? ("running" as const)
            : ("pending" as const),
        coordinatorId: m.coordinatorId,
        launchedAt: new Date(m.startedAt),
      })),
    };
  }

  async setDesiredCapacity(group: string, desired: number): Promise<void> {
    this.checkGroup(group);
    if (desired > this.opts.maxCoordinators)
      throw new Error(`local fleet: ${desired} coordinators asked for, at most ${this.opts.maxCoordinators}`);
    // growing starts processes; shrinking is done host by host (terminateInstance), never by stopping busy ones
    while ([...this.members.values()].filter((m) => !m.stopping).length < desired) await this.add();
  }

  async terminateInstance(group: string, instanceId: string): Promise<void> {
    this.checkGroup(group);
    const m = [...this.members.values()].find((x) => `local-${x.n}` === instanceId);
    if (!m) throw new Error(`local fleet: no coordinator process ${instanceId}`);
    if (!m.stopping) await this.retire(m, "terminated by the autoscaler");
  }

  private checkGroup(group: string): void {
    if (group !== LOCAL_GROUP) throw new Error(`local fleet has one group, "${LOCAL_GROUP}", not ${JSON.stringify(group)}`);
  }

  private learnId(m: Member): void {
    if (m.coordinatorId) return;
    try {
      const id = identityOf(fs.readFileSync(path.join(m.stateDir, "coordinator.crt"), "utf8"));
      if (id.kind === "coordinator") m.coordinatorId = id.id;
    } catch {
      /* not joined yet */
    }
  }

  private async retire(m: Member, why: string): Promise<void> {
    m.stopping = true;
    // out of the scheduler's view first, so nothing new lands on it while it stops
    if (m.coordinatorId) {
      await markGone(this.opts.db, m.coordinatorId);
      await requeueCoordinatorTasks(this.opts.db, m.coordinatorId, "local coordinator retired");
    }
    this.opts.log?.("local fleet: retiring coordinator", { n: m.n, coordinator: m.coordinatorId, why });
    m.child.kill("SIGTERM");
  }

  /** Coordinator processes with their ids, for tests that kill one. */
  list(): { n: number; pid: number | undefined; coordinatorId?: string }[] {
    for (const m of this.members.values()) this.learnId(m);
    return [...this.members.values()].map((m) => ({ n: m.n, pid: m.child.pid, coordinatorId: m.coordinatorId }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const exits = [...this.members.values()].map(
      (m) =>
        new Promise<void>((resolve) => {
          if (m.child.exitCode !== null || m.child.signalCode !== null) return resolve();
          m.child.once("exit", () => resolve());
          m.child.kill("SIGTERM");
          setTimeout(() => {
            m.child.kill("SIGKILL");
            resolve();
          }, 5000).unref();
        }),
    );
    await Promise.all(exits);
  }
}
