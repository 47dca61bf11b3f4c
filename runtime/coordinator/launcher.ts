// Starts one worker process per task attempt and holds it to a hard memory
// limit: the whole process tree (worker and its ffmpeg) is measured, and
// killed when it passes the limit, so one runaway encode cannot take the host.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import type { WorkerLaunch } from "../worker/launch.js";

export interface AttemptRef {
  taskId: string;
  attempt: number;
  epoch: string;
}

export interface WorkerExit {
  ref: AttemptRef;
  exitCode: number;
  signal: string;
  /** why the coordinator killed it, if it did */
  reason: string;
}

interface Running {
  ref: AttemptRef;
  child: ChildProcess;
  memoryLimitMb: number;
  killReason: string;
}

export interface LauncherOptions {
  /** argv that starts a worker: [node, ...execArgv, runtime/worker/main.ts] */
  command: string;
  args: string[];
  onExit(exit: WorkerExit): void;
  log?(msg: string, fields?: Record<string, unknown>): void;
  memoryPollMs?: number;
  /**
   * Worker processes kept started and idle, their modules loaded, so a task
   * starts without paying for process start-up (default 2; false or 0: none).
   * Two, because a task can end at once (a rendition skipped by policy) while
   * the spare started for its successor is still loading.
   */
  spare?: boolean | number;
}

const PAGE_KB = 4;

export class WorkerLauncher {
  private readonly running = new Map<string, Running>();
  private readonly timer: NodeJS.Timeout;
  private readonly spares: ChildProcess[] = [];
  private readonly spareTarget: number;
  private closed = false;

  constructor(private readonly opts: LauncherOptions) {
    this.timer = setInterval(() => this.enforceMemory(), opts.memoryPollMs ?? 500);
    this.timer.unref();
    this.spareTarget = opts.spare === false ? 0 : opts.spare === true || opts.spare === undefined ? 2 : Math.max(0, opts.spare);
    this.refillSpares();
  }

  private spawnWorker(): ChildProcess {
    return spawn(this.opts.command, this.opts.args, { stdio: ["pipe", "inherit", "inherit"], detached: false });
  }

  private refillSpares(): void {
    while (!this.closed && this.spares.length < this.spareTarget) {
      const child = this.spawnWorker();
      child.stdin!.on("error", () => {});
      child.once("exit", () => {
        const k = this.spares.indexOf(child);
        if (k >= 0) this.spares.splice(k, 1);
      });
      this.spares.push(child);
    }
  }

  /** Idle workers ready for the next tasks (pids), oldest first. */
  sparePids(): number[] {
    return this.spares.map((c) => c.pid ?? -1);
  }

  /** A started, idle worker if one is ready (the oldest: most likely loaded), else a new one. */
  private takeWorker(): ChildProcess {
    let spare: ChildProcess | undefined;
    while ((spare = this.spares.shift()) && (spare.exitCode !== null || spare.signalCode !== null));
    // the next spare starts now: starting it later would move its CPU, not save it
    this.refillSpares();
    if (spare) {
      spare.removeAllListeners("exit");
      return spare;
    }
    return this.spawnWorker();
  }

  launch(launch: WorkerLaunch, memoryLimitMb: number): void {
    const ref: AttemptRef = { taskId: launch.task.taskId, attempt: launch.task.attempt, epoch: launch.task.epoch };
    const child = this.takeWorker();
    const entry: Running = { ref, child, memoryLimitMb, killReason: "" };
    this.running.set(ref.epoch, entry);
    child.stdin!.on("error", () => {});
    // the pipe stays open: its closing tells the worker that we are gone
    child.stdin!.write(JSON.stringify(launch) + "\n");
    child.on("exit", (code, signal) => {
      this.running.delete(ref.epoch);
      this.opts.onExit({ ref, exitCode: code ?? -1, signal: signal ?? "", reason: entry.killReason });
    });
    child.on("error", (err) => {
      entry.killReason = `could not start worker: ${err.message}`;
    });
  }

  runningAttempts(): AttemptRef[] {
    return [...this.running.values()].map((r) => r.ref);
  }

  has(epoch: string): boolean {
    return this.running.has(epoch);
  }

  /** Stops an attempt: SIGTERM to the worker (it stops ffmpeg and cleans up), SIGKILL to the tree after a grace period. */
  stop(epoch: string, reason: string, graceMs = 5000): boolean {
    const r = this.running.get(epoch);
    if (!r) return false;
    r.killReason ||= reason;
    r.child.kill("SIGTERM");
    const t = setTimeout(() => this.killTree(r), graceMs);
    t.unref();
    r.child.once("exit", () => clearTimeout(t));
    return true;
  }

  stopAll(reason: string): void {
    this.closed = true;
    for (const c of this.spares.splice(0)) c.kill("SIGTERM");
    clearInterval(this.timer);
    for (const r of this.running.values()) this.stop(r.ref.epoch, reason, 2000);
  }

  private killTree(r: Running): void {
    for (const pid of descendants(r.child.pid ?? -1).reverse()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    try {
      r.child.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }

  private enforceMemory(): void {
    if (this.running.size === 0) return;
    for (const r of this.running.values()) {
      if (!r.child.pid || r.killReason) continue;
      const rssMb = treeRssKb(r.child.pid) / 1024;
      if (rssMb > r.memoryLimitMb) {
        r.killReason = `memory limit exceeded: ${Math.round(rssMb)} MiB used, limit ${r.memoryLimitMb} MiB`;
        this.opts.log?.("killing worker over its memory limit", { task: r.ref.taskId, rssMb: Math.round(rssMb), limitMb: r.memoryLimitMb });
        this.killTree(r);
      }
    }
  }
}

function childrenMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return map;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      // the command name may hold spaces and parentheses: fields start after the last ")"
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ppid = Number(fields[1]);
      const list = map.get(ppid) ?? [];
      list.push(Number(e));
      map.set(ppid, list);
    } catch {
      /* exited meanwhile */
    }
  }
  return map;
}

// Linux lists each thread's children in /proc/<pid>/task/<tid>/children
// (CONFIG_PROC_CHILDREN, on in every mainstream kernel): walking the tree that way
// reads a handful of files, where scanning all of /proc reads one per process on
// the host, twice a second, beside the encode the limit is protecting.
function childrenOf(pid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && fs.existsSync(`/proc/${pid}/task/${tid}`)) return undefined;
      continue;
    }
    for (const c of text.split(" ")) if (c.trim()) out.push(Number(c));
  }
  return out;
}

export function descendants(pid: number): number[] {
  const out: number[] = [];
  const walkChildrenFiles = (p: number): boolean => {
    const kids = childrenOf(p);
    if (kids === undefined) return false;
    for (const c of kids) {
      out.push(c);
      if (!walkChildrenFiles(c)) return false;
    }
    return true;
  };
  if (walkChildrenFiles(pid)) return out;
  // a kernel without the children files: one scan of /proc
  out.length = 0;
  const map = childrenMap();
  const walk = (p: number) => {
    for (const c of map.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export function treeRssKb(pid: number): number {
  let total = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const statm = fs.readFileSync(`/proc/${p}/statm`, "utf8").split(" ");
      total += Number(statm[1]) * PAGE_KB;
    } catch {
      /* exited */
    }
  }
  return total;
}
