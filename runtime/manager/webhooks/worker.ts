// The webhook delivery worker. Each replica runs one; they share the work
// through the database (deliveries are claimed under a lease with SKIP LOCKED).
//
// - Fan-out: when the bus reports new events, every enabled endpoint of the
//   tenant gets a pending delivery per matching event (store/webhooks.ts).
// - Lanes: each endpoint with due deliveries gets its own lane, which sends one
//   delivery at a time, oldest event first. Lanes are independent, so a slow or
//   failing receiver holds up only its own lane, never another endpoint's.
// - Retries: a non-2xx answer, a timeout or a refused connection is retried after
//   an exponential backoff with jitter, capped, up to `maxAttempts`; every
//   attempt is in the delivery log. Receivers de-duplicate by event id (the same
//   id on every retry and replay).
import http from "node:http";
import https from "node:https";
import {
  claimWebhookDelivery,
  dueWebhookEndpoints,
  fanOutWebhookDeliveries,
  recordWebhookAttempt,
  type ClaimedDelivery,
  type Db,
} from "../store/index.js";
import type { EventBus } from "../events/bus.js";
import { checkEndpointUrl, guardedLookup } from "./address.js";
import { SIGNATURE_HEADER, signatureHeader } from "./sign.js";
import { webhookAttempts, webhookAttemptSeconds } from "../events/metrics.js";
import { CoalescedRun } from "../events/coalesced-run.js";

const KICK_GAP_MS = 500;

export interface WebhookSettings {
  /** operator's allowance: endpoints on loopback / private / link-local addresses (default false) */
  allowPrivateAddresses?: boolean;
  /** one attempt's limit, connect to last byte (default 10 s) */
  timeoutMs?: number;
  /** attempts before a delivery is marked failed (default 12) */
  maxAttempts?: number;
  /** first retry delay (default 5 s); doubles per attempt */
  backoffBaseMs?: number;
  /** longest retry delay (default 1 h) */
  backoffCapMs?: number;
  /** how often due retries are looked for (default 500 ms) */
  pollMs?: number;
  /** most endpoints delivered to at once by this replica (default 64) */
  maxLanes?: number;
}

export interface WebhookWorkerOptions extends WebhookSettings {
  db: Db;
  bus?: EventBus;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

/** Exponential backoff with "equal jitter": half the capped delay, plus a random part of the other half. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const d = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + random() * (d / 2));
}

export interface SendResult {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error: string | null;
}

/** One signed POST; never throws. Redirects are not followed (a 3xx is a failure). */
export async function sendSigned(
  url: string,
  secret: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; allowPrivateAddresses: boolean; signal?: AbortSignal },
): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, "latencyMs">): SendResult => ({ ...r, latencyMs: performance.now() - started });
  // literal IP hosts skip `lookup`, so the URL is checked here as well
  const check = await checkEndpointUrl(url, { allowPrivateAddresses: opts.allowPrivateAddresses });
  if (!check.ok) return done({ ok: false, status: null, error: `refused: ${check.reason}` });
  const ts = Math.floor(Date.now() / 1000);
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, "latencyMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = mod.request(
      u,
      {
        method: "POST",
        lookup: guardedLookup(opts.allowPrivateAddresses) as never,
        signal: opts.signal,
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "framefleet-webhooks/1",
          [SIGNATURE_HEADER]: signatureHeader(secret, ts, body),
          ...headers,
        },
      },
      (res) => {
        let seen = 0;
        res.on("data", (c: Buffer) => {
          seen += c.length;
          if (seen > 64 * 1024) res.destroy(); // the answer's body is not needed
        });
        const status = res.statusCode ?? 0;
        const end = () =>
          finish({ ok: status >= 200 && status < 300, status, error: status >= 200 && status < 300 ? null : `HTTP ${status}` });
        res.on("end", end);
        res.on("close", end);
        res.on("error", end);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, status: null, error: `timed out after ${opts.timeoutMs} ms` });
    }, opts.timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        status: null,
        error: err.name === "AddressRefusedError" ? `refused: ${err.message}` : `${err.code ?? err.name}: ${err.message}`,
      }),
    );
    req.end(body);
  });
}

export class WebhookWorker {
  private readonly s: Required<WebhookSettings>;
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  // every sequenced burst of events wakes the worker; a pass at most every
  // KICK_GAP_MS keeps a busy region from paying two queries per event
  private readonly pass = new CoalescedRun({
    minGapMs: KICK_GAP_MS,
    run: () => this.fanOut(),
    onError: (err) => this.opts.log?.("webhook worker pass failed", { error: String(err) }),
  });
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: WebhookWorkerOptions) {
    this.s = {
      allowPrivateAddresses: opts.allowPrivateAddresses ?? false,
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxAttempts: opts.maxAttempts ?? 12,
      backoffBaseMs: opts.backoffBaseMs ?? 5_000,
      backoffCapMs: opts.backoffCapMs ?? 3_600_000,
      pollMs: opts.pollMs ?? 500,
      maxLanes: opts.maxLanes ?? 64,
    };
  }

  get settings(): Readonly<Required<WebhookSettings>> {
    return this.s;
  }

  start(): void {
    this.unsubscribe = this.opts.bus?.onEvents(() => this.kick());
    this.timer = setInterval(() => this.kick(), this.s.pollMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    await this.pass.stop();
    await Promise.allSettled([...this.lanes.values()]);
  }

  /** fan out new events and start lanes for due endpoints; calls during a run fold into one more run */
  kick(): void {
    this.pass.kick();
  }

  private async fanOut(): Promise<void> {
    await fanOutWebhookDeliveries(this.opts.db);
    const { due } = await dueWebhookEndpoints(this.opts.db);
    for (const endpointId of due) {
      if (this.lanes.has(endpointId) || this.lanes.size >= this.s.maxLanes || this.stopped) continue;
      const lane = this.lane(endpointId).finally(() => this.lanes.delete(endpointId));
      this.lanes.set(endpointId, lane);
    }
  }

  private async lane(endpointId: string): Promise<void> {
    try {
      while (!this.stopped) {
        // the lease outlives one attempt; if this replica dies, another takes the delivery after it
        const d = await claimWebhookDelivery(this.opts.db, endpointId, this.s.timeoutMs + 5_000);
        if (!d) return;
        await this.deliver(d);
      }
    } catch (err) {
      if (!this.stopped) this.opts.log?.("webhook lane failed", { endpointId, error: String(err) });
    }
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const body = JSON.stringify(d.event);
    const r = await sendSigned(
      d.url,
      d.secret,
      body,
      {
        "framefleet-event-id": String(d.event.id),
        "framefleet-event-type": d.event.type,
        "framefleet-delivery-id": String(d.id),
        "framefleet-delivery-attempt": String(d.attempt),
      },
      { timeoutMs: this.s.timeoutMs, allowPrivateAddresses: this.s.allowPrivateAddresses, signal: this.abort.signal },
    );
    if (this.stopped && !r.ok) return; // cut off by shutdown: the lease runs out and the delivery is retried
    const retryInMs = r.ok || d.attempt >= this.s.maxAttempts ? null : backoffMs(d.attempt, this.s.backoffBaseMs, this.s.backoffCapMs);
    webhookAttemptSeconds.observe(r.latencyMs / 1000);
    webhookAttempts.inc({
      result: r.ok ? "succeeded" : r.error?.startsWith("refused:") ? "refused" : retryInMs === null ? "failed" : "retry",
    });
    await recordWebhookAttempt(this.opts.db, {
      deliveryId: d.id,
      attempt: d.attempt,
      ok: r.ok,
      status: r.status,
      latencyMs: r.latencyMs,
      error: r.error,
      retryInMs,
    });
    if (!r.ok) this.opts.log?.("webhook delivery failed", { delivery: d.id, attempt: d.attempt, error: r.error, retryInMs });
  }
}
