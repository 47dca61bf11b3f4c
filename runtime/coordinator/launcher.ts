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
   * Keep one worker process started and idle, its modules loaded, so a task
   * starts without paying for process start-up (default true).
   */
  spare?: boolean;
}

const PAGE_KB = 4;

export class WorkerLauncher {
  private readonly running = new Map<string, Running>();
  private readonly timer: NodeJS.Timeout;
  private spare: ChildProcess | undefined;
  private closed = false;

  constructor(private readonly opts: LauncherOptions) {
    this.timer = setInterval(() => this.enforceMemory(), opts.memoryPollMs ?? 500);
    this.timer.unref();
    this.refillSpare(0);
  }

  private spawnWorker(): ChildProcess {
    return spawn(this.opts.command, this.opts.args, { stdio: ["pipe", "inherit", "inherit"], detached: false });
  }

  private refillSpare(delayMs: number): void {
    if (this.opts.spare === false || this.closed || this.spare) return;
    const t = setTimeout(() => {
      if (this.closed || this.spare) return;
      const child = this.spawnWorker();
      child.stdin!.on("error", () => {});
      child.once("exit", () => {
        if (this.spare === child) this.spare = undefined;
      });
      this.spare = child;
    }, delayMs);
    t.unref();
  }

  /** A started, idle worker if one is ready, else a new one. */
  private takeWorker(): ChildProcess {
    const spare = this.spare;
    this.spare = undefined;
    // start the next spare a little later, so it does not compete with the task starting now
    this.refillSpare(1000);
    if (spare && spare.exitCode === null && spare.signalCode === null) {
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
    this.spare?.kill("SIGTERM");
    this.spare = undefined;
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
