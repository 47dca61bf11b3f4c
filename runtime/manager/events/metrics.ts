// The event bus's and the webhook worker's Prometheus series, in the manager's
// one registry (runtime/manager/metrics.ts). Counters count what this replica
// did, so summing over replicas is right. Labels are bounded (fixed sets).
import { Counter, Gauge, Histogram } from "prom-client";
import { registry } from "../metrics.js";

export const eventsSequenced = new Counter({
  name: "framefleet_events_sequenced_total",
  help: "Outbox events numbered by this replica's sequencer (each event is numbered once, by one replica)",
  registers: [registry],
});

export const eventStreams = new Gauge({
  name: "framefleet_event_streams",
  help: "Open live event streams on this replica, by transport (sse, ws)",
  labelNames: ["transport"] as const,
  registers: [registry],
});

export const webhookAttempts = new Counter({
  name: "framefleet_webhook_attempts_total",
  help: "Webhook delivery attempts by result: succeeded, retry (failed, will be retried), failed (failed, gave up), refused (private address)",
  labelNames: ["result"] as const,
  registers: [registry],
});

export const webhookAttemptSeconds = new Histogram({
  name: "framefleet_webhook_attempt_seconds",
  help: "Time one webhook attempt took, connect to last byte",
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const outputMediaSeconds = new Counter({
  name: "framefleet_output_media_seconds_total",
  help: "Media seconds of the outputs of finished jobs (each succeeded rendition counts the source's duration), by resolution tier (SD, HD, UHD)",
  labelNames: ["tier"] as const,
  registers: [registry],
});

export const retentionPruned = new Counter({
  name: "framefleet_retention_pruned_total",
  help: "Rows the retention pruner deleted, by kind: events (outbox), deliveries (webhook delivery log)",
  labelNames: ["kind"] as const,
  registers: [registry],
});
