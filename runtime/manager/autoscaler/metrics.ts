// The autoscaler's Prometheus series, in the manager's registry (GET /metrics).
// Labels are bounded: pools and host groups come from configuration.
import { Counter, Gauge } from "prom-client";
import { registry } from "../metrics.js";
import type { Db } from "../store/index.js";
import { billableHosts } from "../store/autoscaler.js";
import { pricePerHour } from "./pricing.js";

export const poolOccupancy = new Gauge({
  name: "framefleet_pool_occupancy_ratio",
  help: "Share of the pool's reported resources in use (the largest of CPU, memory and GPU), per worker pool",
  labelNames: ["pool"] as const,
  registers: [registry],
});

export const groupDesired = new Gauge({
  name: "framefleet_fleet_desired_hosts",
  help: "Hosts the provider was asked for, per host group",
  labelNames: ["pool", "group"] as const,
  registers: [registry],
});

export const groupActual = new Gauge({
  name: "framefleet_fleet_actual_hosts",
  help: "Hosts the provider reports (booting or running), per host group",
  labelNames: ["pool", "group"] as const,
  registers: [registry],
});

export const waitingUnplaced = new Gauge({
  name: "framefleet_autoscaler_waiting_tasks",
  help: "Ready tasks that fit no running host at the last autoscaler pass",
  registers: [registry],
});

export const decisionsTotal = new Counter({
  name: "framefleet_autoscaler_decisions_total",
  help: "Scaling decisions, by pool and action (launch, drain, terminate, hold, error)",
  labelNames: ["pool", "action"] as const,
  registers: [registry],
});

/**
 * Meters the fleet's cost at list prices into `framefleet_fleet_cost_dollars_total`:
 * every host that is not gone accrues its run time since the last sample times
 * its instance type's price for its capacity type (pricing.ts, or the host
 * group's configured price). Only the scheduling leader samples, so the counter
 * summed over replicas counts each host-second once; a new leader starts from
 * its own first sample. Sampled on an interval and at every scrape.
 */
export class FleetCostMeter {
  private since: Date | undefined;
  private sampling: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: {
      db: Db;
      isLeader(): boolean;
      /** `${instanceType}/${capacityType}` -> USD per hour, for groups priced in configuration */
      prices?: Map<string, number>;
      intervalMs?: number;
      log?(msg: string, fields?: Record<string, unknown>): void;
    },
  ) {}

  start(): void {
    activeMeters.add(this);
    this.timer = setInterval(() => void this.sample(), this.opts.intervalMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    activeMeters.delete(this);
    if (this.timer) clearInterval(this.timer);
  }

  /** Adds the cost accrued since the previous sample (nothing on the first, or off the leader). */
  sample(): Promise<void> {
    if (this.sampling) return this.sampling;
    this.sampling = (async () => {
      try {
        if (!this.opts.isLeader()) {
          this.since = undefined;
          return;
        }
        const { now, hosts } = await billableHosts(this.opts.db, this.since ?? null);
        if (this.since)
          for (const h of hosts) {
            const perHour = this.opts.prices?.get(`${h.instanceType}/${h.capacityType}`) ?? pricePerHour(h.instanceType, h.capacityType);
            if (perHour > 0 && h.seconds > 0)
              fleetCostDollars.inc(
                {
                  pool: h.pools.length > 0 ? [...h.pools].sort().join(",") : "default",
                  instance_type: h.instanceType || "unknown",
                  capacity_type: h.capacityType,
                },
                (h.seconds * perHour) / 3600,
              );
          }
        this.since = now;
      } catch (err) {
        this.opts.log?.("fleet cost sample failed", { error: String(err) });
      } finally {
        this.sampling = undefined;
      }
    })();
    return this.sampling;
  }
}

const activeMeters = new Set<FleetCostMeter>();

export const fleetCostDollars = new Counter({
  name: "framefleet_fleet_cost_dollars_total",
  help: "What the fleet's hosts cost at list prices (run time of every host that is not gone times its price), counted by the scheduling leader",
  labelNames: ["pool", "instance_type", "capacity_type"] as const,
  registers: [registry],
  async collect() {
    await Promise.all([...activeMeters].map((m) => m.sample()));
  },
});
