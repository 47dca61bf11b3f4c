// The manager's Prometheus metrics, in one registry that `GET /metrics` serves.
// The API records HTTP latency and submissions; the scheduler and the gRPC server
// record placements, results, pass time, submit-to-start latency, connected
// coordinators and queue depth. Label values are bounded: pools are the three task
// pools, outcomes the finish outcomes, routes the registered route patterns
// (never raw URLs), tenants the configured tenants.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const jobsSubmitted = new Counter({
  name: "framefleet_jobs_submitted_total",
  help: "Jobs accepted by POST /v1/jobs (idempotent repeats are not counted)",
  labelNames: ["tenant"] as const,
  registers: [registry],
});

export const tasksPlaced = new Counter({
  name: "framefleet_tasks_placed_total",
  help: "Task attempts leased to a coordinator by the scheduler",
  labelNames: ["pool"] as const,
  registers: [registry],
});

export const taskResults = new Counter({
  name: "framefleet_task_results_total",
  help: "Task attempts finished, by outcome (succeeded, skipped, failed, failed-permanent, lost)",
  labelNames: ["pool", "outcome"] as const,
  registers: [registry],
});

export const schedulerPassSeconds = new Histogram({
  name: "framefleet_scheduler_pass_seconds",
  help: "Time one scheduler pass takes (read ready tasks, fit, lease)",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

export const submitToStartSeconds = new Histogram({
  name: "framefleet_submit_to_start_seconds",
  help: "Time from a task becoming ready to its first attempt starting on a worker",
  labelNames: ["pool"] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const coordinatorsConnected = new Gauge({
  name: "framefleet_coordinators_connected",
  help: "Coordinators with an open stream to this manager replica",
  registers: [registry],
});

export const queueDepth = new Gauge({
  name: "framefleet_queue_depth",
  help: "Ready tasks waiting for placement, per pool",
  labelNames: ["pool"] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: "framefleet_http_request_duration_seconds",
  help: "REST API request latency, by route pattern and status code",
  labelNames: ["method", "route", "status"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
