// Retention for the event outbox and the webhook delivery log, run by the
// scheduling leader on an interval (one pruner at a time: the others would only
// skip the rows it has locked). Deletion is in batches so no statement holds
// locks on a large part of either table.
import { pruneEvents, pruneWebhookDeliveries, type Db } from "../store/index.js";
import { retentionPruned } from "./metrics.js";

export interface RetentionSettings {
  /** events older than this are deleted, unless a webhook still needs them (default 7 days) */
  eventRetentionMs?: number;
  /** finished webhook deliveries and their attempts are deleted this long after they finished (default 30 days) */
  deliveryLogRetentionMs?: number;
  /** how often the leader prunes (default 10 minutes; 0 disables pruning) */
  intervalMs?: number;
  /** rows per statement (default 10 000) */
  batch?: number;
}

export const DEFAULT_RETENTION = {
  eventRetentionMs: 7 * 24 * 3600 * 1000,
  deliveryLogRetentionMs: 30 * 24 * 3600 * 1000,
  intervalMs: 10 * 60 * 1000,
  batch: 10_000,
} as const satisfies Required<RetentionSettings>;

export interface PruneReport {
  events: number;
  deliveries: number;
}

export class RetentionPruner {
  private readonly s: Required<RetentionSettings>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneReport> | undefined;
  private stopped = false;

  constructor(
    private readonly opts: RetentionSettings & {
      db: Db;
      isLeader(): boolean;
      log?(msg: string, fields?: Record<string, unknown>): void;
    },
  ) {
    this.s = {
      eventRetentionMs: opts.eventRetentionMs ?? DEFAULT_RETENTION.eventRetentionMs,
      deliveryLogRetentionMs: opts.deliveryLogRetentionMs ?? DEFAULT_RETENTION.deliveryLogRetentionMs,
      intervalMs: opts.intervalMs ?? DEFAULT_RETENTION.intervalMs,
      batch: opts.batch ?? DEFAULT_RETENTION.batch,
    };
    for (const k of ["eventRetentionMs", "deliveryLogRetentionMs", "intervalMs", "batch"] as const) {
      const v = this.s[k];
      if (!Number.isFinite(v) || v < 0) throw new Error(`retention setting ${k} must be a non-negative number, got ${String(v)}`);
    }
    if (this.s.batch < 1) throw new Error(`retention setting batch must be at least 1, got ${this.s.batch}`);
  }

  get settings(): Readonly<Required<RetentionSettings>> {
    return this.s;
  }

  start(): void {
    if (this.s.intervalMs === 0) return;
    this.timer = setInterval(() => {
      if (this.opts.isLeader()) void this.pruneNow().catch((err) => this.opts.log?.("retention pruning failed", { error: String(err) }));
    }, this.s.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
  }

  /** One full pass (every batch until a short one); public so tests and operators can run it now. */
  pruneNow(): Promise<PruneReport> {
    if (this.running) return this.running;
    this.running = (async () => {
      const report: PruneReport = { events: 0, deliveries: 0 };
      const { db } = this.opts;
      for (;;) {
        const r = await pruneEvents(db, { retentionSeconds: this.s.eventRetentionMs / 1000, batch: this.s.batch });
        report.events += r.deleted;
        if (r.deleted < this.s.batch || this.stopped) break;
      }
      for (;;) {
        const n = await pruneWebhookDeliveries(db, { retentionSeconds: this.s.deliveryLogRetentionMs / 1000, batch: this.s.batch });
        report.deliveries += n;
        if (n < this.s.batch || this.stopped) break;
      }
      if (report.events > 0) retentionPruned.inc({ kind: "events" }, report.events);
      if (report.deliveries > 0) retentionPruned.inc({ kind: "deliveries" }, report.deliveries);
      if (report.events + report.deliveries > 0) this.opts.log?.("retention pruned", { ...report });
      return report;
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
