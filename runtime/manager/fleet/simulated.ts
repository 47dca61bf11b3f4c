// A fleet provider with no cloud behind it: groups of hosts in memory that
// boot after a delay and bill per second, on a clock the caller drives. The
// simulator and the benchmark scale it with the real policy; tests use it to
// watch the autoscaler's calls without a cloud.
import { FleetProviderError, type FleetProvider, type GroupInstance, type GroupSnapshot } from "./provider.js";

export interface SimulatedHost {
  id: string;
  group: string;
  launchedAt: number;
  readyAt: number;
  terminatedAt?: number;
}

export interface SimulatedGroupConfig {
  max: number;
  /** list price per host-hour, for the bill */
  pricePerHour: number;
}

export class SimulatedFleetProvider implements FleetProvider {
  readonly kind = "simulated" as const;
  private readonly hosts = new Map<string, SimulatedHost>();
  private readonly desired = new Map<string, number>();
  private seq = 0;
  /** every call, in order: what a test asserts on */
  readonly calls: { op: "describe" | "setDesiredCapacity" | "terminateInstance"; group: string; arg?: number | string }[] = [];

  constructor(
    private readonly groups: Record<string, SimulatedGroupConfig>,
    private readonly clock: () => number,
    /** boot delay in ms for each new host */
    private readonly bootMs: () => number = () => 40_000,
  ) {}

  private group(name: string): SimulatedGroupConfig {
    const g = this.groups[name];
    if (!g) throw new FleetProviderError("simulated", "describe", "not-found", `no group ${name}`);
    return g;
  }

  live(group?: string): SimulatedHost[] {
    return [...this.hosts.values()].filter((h) => h.terminatedAt === undefined && (!group || h.group === group));
  }

  all(): SimulatedHost[] {
    return [...this.hosts.values()];
  }

  async describe(group: string): Promise<GroupSnapshot> {
    this.calls.push({ op: "describe", group });
    const g = this.group(group);
    const now = this.clock();
    const instances: GroupInstance[] = this.live(group).map((h) => ({
      id: h.id,
      state: now >= h.readyAt ? "running" : "pending",
      launchedAt: new Date(h.launchedAt),
    }));
    return { group, desired: this.desired.get(group) ?? 0, min: 0, max: g.max, instances };
  }

  /** synchronous form for the simulator's inner loop */
  setDesiredNow(group: string, desired: number): SimulatedHost[] {
    const g = this.group(group);
    if (desired > g.max || desired < 0)
      throw new FleetProviderError("simulated", "setDesiredCapacity", "invalid", `desired ${desired} outside 0..${g.max} for ${group}`);
    this.desired.set(group, desired);
    const live = this.live(group);
    const added: SimulatedHost[] = [];
    const now = this.clock();
    for (let i = live.length; i < desired; i++) {
      const h = { id: `sim-${group}-${++this.seq}`, group, launchedAt: now, readyAt: now + this.bootMs() };
      this.hosts.set(h.id, h);
      added.push(h);
    }
    // a group asked to shrink removes hosts of its own choosing: the newest first
    for (const h of live.sort((a, b) => b.launchedAt - a.launchedAt).slice(0, Math.max(0, live.length - desired))) h.terminatedAt = now;
    return added;
  }

  async setDesiredCapacity(group: string, desired: number): Promise<void> {
    this.calls.push({ op: "setDesiredCapacity", group, arg: desired });
    this.setDesiredNow(group, desired);
  }

  terminateNow(group: string, id: string): void {
    const h = this.hosts.get(id);
    if (!h || h.group !== group || h.terminatedAt !== undefined)
      throw new FleetProviderError("simulated", "terminateInstance", "not-found", `no live host ${id} in ${group}`);
    h.terminatedAt = this.clock();
    this.desired.set(group, Math.max(0, (this.desired.get(group) ?? 1) - 1));
  }

  async terminateInstance(group: string, instanceId: string): Promise<void> {
    this.calls.push({ op: "terminateInstance", group, arg: instanceId });
    this.terminateNow(group, instanceId);
  }

  /** list-price bill so far: per-second billing with a one-minute minimum */
  bill(until = this.clock()): number {
    let usd = 0;
    for (const h of this.hosts.values()) {
      const end = h.terminatedAt ?? until;
      usd += (Math.max(60, (end - h.launchedAt) / 1000) * this.groups[h.group]!.pricePerHour) / 3600;
    }
    return usd;
  }
}
