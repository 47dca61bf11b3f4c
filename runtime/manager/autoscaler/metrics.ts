// The autoscaler's Prometheus series, in the manager's registry (GET /metrics).
// Labels are bounded: pools and host groups come from configuration.
import { Counter, Gauge } from "prom-client";
import { registry } from "../metrics.js";

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
