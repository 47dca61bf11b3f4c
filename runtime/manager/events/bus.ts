// The event bus: fans the store's outbox out to this replica's live consumers
// (SSE streams, WebSockets, the webhook worker).
//
//   state change --tx--> outbox row --commit--> NOTIFY ff_outbox (trigger)
//     -> any replica's sequencer numbers it per tenant --> NOTIFY ff_events
//     -> every replica's bus wakes the subscriptions of those tenants
//     -> each subscription reads its tenant's rows after its own cursor
//
// Nothing is held in memory that the database does not also have: a subscriber
// that resumes from the last id it saw (after a restart, on another replica)
// reads the same rows. A poll every `pollMs` covers a lost notification (the
// listening connection dropped and reconnected).
import { eventsSequenced, outputMediaSeconds } from "./metrics.js";
import {
  Listener,
  hasUnsequencedEvents,
  latestEventSeq,
  readEventsPage,
  sequenceEvents,
  type Db,
  type EventEnvelope,
} from "../store/index.js";
import { outputUsage } from "../store/usage.js";
import { tierOf } from "../autoscaler/pricing.js";

import { CoalescedRun } from "./coalesced-run.js";

export type { EventEnvelope } from "../store/index.js";

const SEQUENCE_GAP_MS = 25;
const SEQUENCE_BATCH = 5000;

/** The events a cursor missed were pruned (retention): the stream goes on after `to`. */
export interface ResetNotice {
  /** the cursor the consumer had */
  from: number;
  /** the highest pruned id; delivery continues with the events after it */
  to: number;
}

export interface SubscribeOptions {
  /** a tenant, or REGION_STREAM for the region's scaling events */
  tenant: string;
  /** deliver events with id > afterSeq; undefined: from the tenant's latest event on */
  afterSeq?: number;
  jobId?: string | null;
  /** awaited before the next event is read: a slow consumer is back-pressure, not a memory leak */
  onEvent(e: EventEnvelope): void | Promise<void>;
  /** awaited like onEvent; the cursor has moved past pruned events when it is called */
  onReset?(r: ResetNotice): void | Promise<void>;
  onError?(err: unknown): void;
}

export interface Subscription {
  readonly tenant: string;
  /** the last id delivered (or the starting cursor) */
  readonly cursor: number;
  close(): void;
}

export interface EventBusOptions {
  db: Db;
  databaseUrl: string;
  pollMs?: number;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

class Sub implements Subscription {
  cursor: number;
  closed = false;
  // wake-ups that arrive while a read is under way fold into one more read
  private readonly reader = new CoalescedRun({
    minGapMs: 0,
    run: () => this.drain(),
    onError: (err) => {
      if (!this.closed) this.opts.onError?.(err);
    },
  });

  constructor(
    private readonly bus: EventBus,
    private readonly opts: SubscribeOptions,
    start: number,
  ) {
    this.cursor = start;
  }

  get tenant(): string {
    return this.opts.tenant;
  }

  close(): void {
    this.closed = true;
    this.bus.remove(this);
    void this.reader.stop();
  }

  /** reads and delivers everything after the cursor */
  pump(): void {
    if (!this.closed) this.reader.kick();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const page = await readEventsPage(this.bus.db, this.opts.tenant, { afterSeq: this.cursor, jobId: this.opts.jobId, limit: 500 });
      if (page.prunedTo > this.cursor) {
        // some events after the cursor are gone: say so rather than skip them silently
        const notice = { from: this.cursor, to: page.prunedTo };
        this.cursor = page.prunedTo;
        await this.opts.onReset?.(notice);
        continue;
      }
      for (const e of page.events) {
        if (this.closed) return;
        await this.opts.onEvent(e);
        this.cursor = e.id;
      }
      // a job-filtered stream moves past the other jobs' events it has looked at
      if (!this.closed) this.cursor = Math.max(this.cursor, page.scannedTo);
      if (page.events.length < 500 || this.closed) return;
    }
  }
}

export class EventBus {
  readonly db: Db;
  private readonly subs = new Map<string, Set<Sub>>();
  private readonly listener: Listener;
  private timer: NodeJS.Timeout | undefined;
  // one NOTIFY arrives per committed statement that wrote events (a worker's audit
  // records come one by one): numbering them in passes at most SEQUENCE_GAP_MS apart
  // costs each burst one transaction, and the streams and webhooks downstream one wake-up
  private readonly sequencer = new CoalescedRun({
    minGapMs: SEQUENCE_GAP_MS,
    run: async () => {
      const moved = await sequenceEvents(this.db, SEQUENCE_BATCH);
      if (moved.numbered > 0) eventsSequenced.inc(moved.numbered);
      if (moved.finishedJobs.length > 0) await this.countOutputs(moved.finishedJobs);
      return moved.numbered === SEQUENCE_BATCH;
    },
    onError: (err) => this.opts.log?.("event sequencer failed", { error: String(err) }),
  });
  private readonly sequencedHandlers = new Set<(tenants: string[]) => void>();
  private stopped = false;

  constructor(private readonly opts: EventBusOptions) {
    this.db = opts.db;
    this.listener = new Listener(
      opts.databaseUrl,
      ["ff_outbox", "ff_events"],
      (channel, payload) => {
        if (channel === "ff_outbox") this.sequence();
        else this.onSequenced(payload);
      },
      () => this.tick(),
    );
  }

  async start(): Promise<void> {
    await this.listener.start();
    // rows written while no manager was up are numbered now
    this.sequence();
    this.timer = setInterval(() => this.tick(), this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const set of this.subs.values()) for (const s of set) s.closed = true;
    this.subs.clear();
    await this.listener.stop();
    await this.sequencer.stop();
  }

  /** Called with the tenants whose streams moved (the webhook worker listens). */
  onEvents(fn: (tenants: string[]) => void): () => void {
    this.sequencedHandlers.add(fn);
    return () => this.sequencedHandlers.delete(fn);
  }

  async subscribe(o: SubscribeOptions): Promise<Subscription> {
    const start = o.afterSeq ?? (await latestEventSeq(this.db, o.tenant));
    const sub = new Sub(this, o, start);
    let set = this.subs.get(o.tenant);
    if (!set) this.subs.set(o.tenant, (set = new Set()));
    set.add(sub);
    sub.pump();
    return sub;
  }

  remove(sub: Sub): void {
    const set = this.subs.get(sub.tenant);
    set?.delete(sub);
    if (set && set.size === 0) this.subs.delete(sub.tenant);
  }

  subscriberCount(): number {
    let n = 0;
    for (const s of this.subs.values()) n += s.size;
    return n;
  }

  private tick(): void {
    if (this.stopped) return;
    // the safety net for a lost notification runs every second: probe before taking the lock
    void hasUnsequencedEvents(this.db).then(
      (waiting) => waiting && this.sequence(),
      (err: unknown) => this.opts.log?.("event sequencer probe failed", { error: String(err) }),
    );
    for (const set of this.subs.values()) for (const s of set) s.pump();
    for (const fn of this.sequencedHandlers) fn([]);
  }

  private onSequenced(payload: string): void {
    let tenants: string[] = [];
    try {
      tenants = (JSON.parse(payload) as [string, number][]).map((x) => x[0]);
    } catch {
      /* malformed: the poll catches up */
    }
    for (const t of tenants) for (const s of this.subs.get(t) ?? []) s.pump();
    for (const fn of this.sequencedHandlers) fn(tenants);
  }

  /**
   * Output media seconds of jobs whose final event this replica just numbered.
   * Each event is numbered once, by one replica, so summing the counter over
   * replicas counts each job once.
   */
  private async countOutputs(jobIds: string[]): Promise<void> {
    try {
      for (const jobId of jobIds) {
        const rows = await outputUsage(this.db, { from: new Date(0), to: new Date("9999-12-31T00:00:00Z"), jobId });
        for (const r of rows) outputMediaSeconds.inc({ tier: tierOf(r.height) }, (r.minutes ?? 0) * 60);
      }
    } catch (err) {
      this.opts.log?.("counting output media failed", { error: String(err) });
    }
  }

  private sequence(): void {
    this.sequencer.kick();
  }
}
