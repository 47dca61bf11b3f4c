// Spot interruption notices. The host bootstrap runs a small watcher for the
// cloud's notice (AWS instance-action metadata, two minutes ahead; GCP
// preemption metadata and Azure Scheduled Events, about 30 seconds ahead) that
// writes the notice's JSON to one file. This watches that file and, the
// moment it appears, tells the coordinator to drain: it takes no new work and
// its heartbeat carries the notice, on which the manager requeues its tasks at
// once instead of waiting for the heartbeat to lapse.
import fs from "node:fs";
import path from "node:path";

export const DEFAULT_INTERRUPTION_FILE = "/run/framefleet/interruption";

export interface InterruptionNotice {
  /** aws | gcp | azure | unknown, as the watcher wrote it */
  cloud: string;
  /** the cloud's action (terminate, stop, Preempt…) */
  action: string;
  /** when the host is reclaimed, if the cloud said */
  time?: string;
  /** the file's content, for the heartbeat and the audit */
  raw: string;
}

export function parseNotice(raw: string): InterruptionNotice {
  let j: Record<string, unknown> = {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === "object") j = v as Record<string, unknown>;
  } catch {
    /* not JSON: still a notice */
  }
  // AWS spot/instance-action: {"action":"terminate","time":"…"}; Azure Scheduled Events: {"Events":[{"EventType":"Preempt","NotBefore":"…"}]};
  // GCP: the preempted flag, which the watcher writes as {"preempted":"TRUE"}
  const azure = Array.isArray(j.Events)
    ? (j.Events as Record<string, unknown>[]).find((e) => e.EventType === "Preempt" || e.EventType === "Terminate")
    : undefined;
  const cloud = typeof j.cloud === "string" ? j.cloud : azure ? "azure" : "preempted" in j ? "gcp" : "action" in j ? "aws" : "unknown";
  const action = String(j.action ?? azure?.EventType ?? (j.preempted ? "preempted" : "interrupt"));
  const time = (j.time ?? azure?.NotBefore) as string | undefined;
  return { cloud, action, ...(time ? { time: String(time) } : {}), raw: raw.trim().slice(0, 2000) };
}

export interface InterruptionWatcherOptions {
  file?: string;
  /** how often to look, as well as watching the directory (a watch can miss a file created before it starts) */
  pollMs?: number;
  onNotice(notice: InterruptionNotice): void;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

/** Watches for the notice file; calls onNotice once. */
export class InterruptionWatcher {
  readonly file: string;
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fired = false;

  constructor(private readonly opts: InterruptionWatcherOptions) {
    this.file = opts.file ?? process.env.FRAMEFLEET_INTERRUPTION_FILE ?? DEFAULT_INTERRUPTION_FILE;
  }

  start(): void {
    this.check();
    try {
      this.watcher = fs.watch(path.dirname(this.file), () => this.check());
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // the directory may not exist yet (the watcher creates it): polling covers that
    }
    this.timer = setInterval(() => this.check(), this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.timer);
  }

  private check(): void {
    if (this.fired) return;
    let raw: string;
    try {
      raw = fs.readFileSync(this.file, "utf8");
    } catch {
      return;
    }
    this.fired = true;
    const notice = parseNotice(raw);
    this.opts.log?.("spot interruption notice: draining", { cloud: notice.cloud, action: notice.action, time: notice.time });
    this.stop();
    this.opts.onNotice(notice);
  }
}
