// The autoscaler loop: on the scheduling leader, after scheduling passes (at
// most every `intervalMs`), it reads the fleet from the provider and the store,
// runs the policy (policy.ts) and applies its decisions through the provider:
// launch by raising a group's desired size, drain through the coordinator's
// stream, terminate a chosen host (never one that runs a task, unless a spot
// notice has already moved its work). It also predicts run times for tasks
// that have none and records every decision with its reason.
import type { Db } from "../store/index.js";
import { markGone } from "../store/index.js";
import {
  finishedSamples,
  fleetHosts,
  predictionsFor,
  recordDecisions,
  recordPredictions,
  recordTaskCapacity,
  tasksWithoutPrediction,
  type DecisionRecord,
  type FleetHostRow,
} from "../store/autoscaler.js";
import type { PassStats } from "../scheduler/scheduler.js";
import type { FleetProvider, GroupInstance, GroupSnapshot } from "../fleet/provider.js";
import {
  decide,
  DEFAULT_POLICY,
  occupancy,
  type Decision,
  type HostGroupSpec,
  type HostState,
  type PolicyConfig,
  type PolicyState,
  type WaitingTask,
  type WorkerPoolSpec,
} from "./policy.js";
import { featuresOf, RuntimePredictor } from "./predict.js";
import * as m from "./metrics.js";

export interface AutoscalerOptions {
  db: Db;
  provider: FleetProvider;
  groups: HostGroupSpec[];
  pools: WorkerPoolSpec[];
  policy?: Partial<PolicyConfig>;
  /** asks a coordinator to take no new work (RpcServer.drain); false if it is not connected here */
  drain(coordinatorId: string, reason: string): boolean;
  /**
   * the coordinator that joined from a cloud instance; by default the instance
   * id or name matches the coordinator's hostname: GCP instance names are the
   * hostname, AWS resource-name hostnames start with the instance id, Azure
   * VMSS instances report their computer name
   */
  coordinatorOf?(instance: GroupInstance, hosts: FleetHostRow[]): FleetHostRow | undefined;
  intervalMs?: number;
  now?(): number;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export class Autoscaler {
  private readonly policy: PolicyConfig;
  private readonly predictor = new RuntimePredictor();
  private lastTick = 0;
  private running: Promise<Decision[]> | undefined;
  private lastUnplaced: PassStats["unplaced"] = [];
  private learnedUntil = new Date(Date.now() - 7 * 24 * 3600 * 1000);
  private readonly lastScaleOutMs: Record<string, number> = {};
  private readonly idleSince = new Map<string, number>();
  private lastHold = new Map<string, string>();

  constructor(private readonly opts: AutoscalerOptions) {
    this.policy = { ...DEFAULT_POLICY, ...opts.policy };
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The scheduler's pass hook: remembers what fits nowhere and runs a tick when one is due. */
  onPass(stats: PassStats): void {
    this.lastUnplaced = stats.unplaced;
    if (this.running || this.now() - this.lastTick < (this.opts.intervalMs ?? 5000)) return;
    void this.tick().catch((err) => this.opts.log?.("autoscaler pass failed", { error: String(err) }));
  }

  /** One reconcile; public so tests drive it step by step. */
  tick(unplaced: PassStats["unplaced"] = this.lastUnplaced): Promise<Decision[]> {
    if (this.running) return this.running;
    this.running = this.reconcile(unplaced).finally(() => {
      this.running = undefined;
      this.lastTick = this.now();
    });
    return this.running;
  }

  private async reconcile(unplaced: PassStats["unplaced"]): Promise<Decision[]> {
    const { db, provider } = this.opts;
    await this.learnAndPredict();
    await recordTaskCapacity(db);
    const snapshots = new Map<string, GroupSnapshot>();
    for (const g of this.opts.groups) snapshots.set(g.name, await provider.describe(g.name));
    const rows = await fleetHosts(db);
    const now = this.now();
    const hosts: HostState[] = [];
    const coordinatorOfHost = new Map<string, string>();
    for (const g of this.opts.groups) {
      const snap = snapshots.get(g.name)!;
      for (const inst of snap.instances) {
        if (inst.state === "terminating") continue;
        const row = (this.opts.coordinatorOf ?? defaultCoordinatorOf)(inst, rows);
        if (row) coordinatorOfHost.set(inst.id, row.id);
        const busy = (row?.runningTasks ?? 0) > 0;
        if (busy) this.idleSince.delete(inst.id);
        else if (row && !this.idleSince.has(inst.id)) this.idleSince.set(inst.id, now); // idle from when this leader first saw it idle
        hosts.push({
          id: inst.id,
          group: g.name,
          coordinatorId: row?.id,
          state: row?.interruptedAt
            ? "preempted"
            : !row || row.state === "joined" || row.state === "disconnected"
              ? inst.state === "pending" || !row
                ? "booting"
                : "running"
              : row.state === "draining"
                ? "draining"
                : "running",
          usedCpuMillis: row?.usedCpuMillis ?? 0,
          usedMemoryMb: row?.usedMemoryMb ?? 0,
          usedGpus: row?.usedGpus ?? 0,
          runningTasks: row?.runningTasks ?? 0,
          launchedAtMs: inst.launchedAt?.getTime() ?? now,
          idleSinceMs: busy ? undefined : this.idleSince.get(inst.id),
          ...(row?.nextEndSeconds != null && busy ? { nextEndInMs: row.nextEndSeconds * 1000 } : {}),
        });
      }
    }
    const predictions = await predictionsFor(
      db,
      unplaced.map((t) => t.id),
    );
    const waiting: WaitingTask[] = unplaced.map((t) => {
      const p = predictions.get(t.id);
      return {
        id: t.id,
        taskPool: t.pool,
        cpuMillis: t.cpuMillis,
        memoryMb: t.memoryMb,
        gpus: t.gpus,
        predictedSeconds: p?.predictedSeconds ?? 0,
        waitingSinceMs: p?.readyAt?.getTime() ?? now,
      };
    });
    const state: PolicyState = {
      nowMs: now,
      pools: this.opts.pools,
      groups: this.opts.groups,
      hosts,
      waiting,
      lastScaleOutMs: this.lastScaleOutMs,
    };
    const decisions = decide(state, this.policy);
    const records: DecisionRecord[] = [];
    for (const d of decisions) {
      // the group's size before and after, for the decision's record and its scaling.* event
      const snap = "group" in d ? snapshots.get(d.group) : undefined;
      const from = snap ? Math.max(snap.desired, snap.instances.filter((i) => i.state !== "terminating").length) : undefined;
      const idleDrain = d.action === "drain" && hosts.find((h) => h.id === d.hostId)?.runningTasks === 0;
      try {
        await this.apply(d, snapshots, coordinatorOfHost, hosts);
        if (d.action === "hold") {
          // a hold repeats every pass while it lasts: record it when it starts or changes
          if (this.lastHold.get(d.pool) === d.reason) continue;
          this.lastHold.set(d.pool, d.reason);
        }
        records.push({
          pool: d.pool,
          action: d.action,
          hostGroup: "group" in d ? d.group : undefined,
          hostId: "hostId" in d ? d.hostId : undefined,
          count: d.action === "launch" ? d.count : undefined,
          reason: d.reason,
          data:
            from === undefined
              ? undefined
              : { from, to: d.action === "launch" ? snap!.desired : d.action === "terminate" || idleDrain ? from - 1 : from },
        });
        m.decisionsTotal.inc({ pool: d.pool, action: d.action });
        this.opts.log?.(`autoscaler: ${d.action}`, { ...d });
      } catch (err) {
        records.push({
          pool: d.pool,
          action: "error",
          hostGroup: "group" in d ? d.group : undefined,
          reason: `${d.action} failed: ${(err as Error).message}`,
        });
        m.decisionsTotal.inc({ pool: d.pool, action: "error" });
        this.opts.log?.("autoscaler: decision failed", { decision: d.action, pool: d.pool, error: String(err) });
      }
    }
    for (const p of this.opts.pools) if (!decisions.some((d) => d.action === "hold" && d.pool === p.name)) this.lastHold.delete(p.name);
    await recordDecisions(db, records);
    for (const p of this.opts.pools) m.poolOccupancy.set({ pool: p.name }, occupancy(state, p.name));
    for (const g of this.opts.groups) {
      const snap = snapshots.get(g.name)!;
      const launched = decisions
        .filter((d): d is Extract<Decision, { action: "launch" }> => d.action === "launch" && d.group === g.name)
        .reduce((s, d) => s + d.count, 0);
      m.groupDesired.set({ pool: g.pool, group: g.name }, snap.desired + launched);
      m.groupActual.set({ pool: g.pool, group: g.name }, snap.instances.filter((i) => i.state !== "terminating").length);
    }
    m.waitingUnplaced.set(waiting.length);
    return decisions;
  }

  private async apply(
    d: Decision,
    snapshots: Map<string, GroupSnapshot>,
    coordinatorOfHost: Map<string, string>,
    hosts: HostState[],
  ): Promise<void> {
    const { provider } = this.opts;
    if (d.action === "launch") {
      const snap = snapshots.get(d.group)!;
      const desired = Math.max(snap.desired, snap.instances.filter((i) => i.state !== "terminating").length) + d.count;
      await provider.setDesiredCapacity(d.group, desired);
      snap.desired = desired;
      this.lastScaleOutMs[d.pool] = this.now();
    } else if (d.action === "drain") {
      const c = coordinatorOfHost.get(d.hostId);
      if (c) this.opts.drain(c, d.reason);
      // an idle host drains at once: nothing runs on it, so it can go in this same pass
      const h = hosts.find((x) => x.id === d.hostId);
      if (h && h.runningTasks === 0) await this.terminate(d.group, d.hostId, c);
    } else if (d.action === "terminate") {
      const h = hosts.find((x) => x.id === d.hostId);
      // the policy never asks this, but a host with running work is only stopped when a spot notice already moved it
      if (h && h.runningTasks > 0 && h.state !== "preempted")
        throw new Error(`refusing to terminate ${d.hostId}: it runs ${h.runningTasks} task(s)`);
      await this.terminate(d.group, d.hostId, coordinatorOfHost.get(d.hostId));
    }
  }

  private async terminate(group: string, hostId: string, coordinatorId: string | undefined): Promise<void> {
    // out of the scheduler's view first, so nothing lands on it while it stops
    if (coordinatorId) await markGone(this.opts.db, coordinatorId);
    await this.opts.provider.terminateInstance(group, hostId);
    this.idleSince.delete(hostId);
  }

  /** Learns from tasks finished since the last pass, then predicts tasks that have no prediction. */
  private async learnAndPredict(): Promise<void> {
    const { db } = this.opts;
    const samples = await finishedSamples(db, this.learnedUntil, 5000);
    for (const s of samples) {
      const f = featuresOf({ kind: s.kind, pool: s.pool, gpus: s.gpus, engineName: s.engineName, spec: s.spec }, s.probe);
      this.predictor.observe({ ...f, runSeconds: s.runSeconds });
    }
    if (samples.length > 0) this.learnedUntil = new Date();
    const todo = await tasksWithoutPrediction(db, 2000);
    await recordPredictions(
      db,
      todo.map((t) => {
        const p = this.predictor.predict(featuresOf(t, t.probe));
        return { id: t.id, seconds: p.seconds, source: p.source };
      }),
    );
  }
}

function defaultCoordinatorOf(inst: GroupInstance, rows: FleetHostRow[]): FleetHostRow | undefined {
  if (inst.coordinatorId) return rows.find((r) => r.id === inst.coordinatorId);
  return rows.find(
    (r) => r.hostname === inst.id || r.hostname.startsWith(`${inst.id}.`) || (inst.hostname !== undefined && r.hostname === inst.hostname),
  );
}
