// Real processes: the launcher's memory limit and stop, on a stand-in worker.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { WorkerLauncher, descendants, type WorkerExit } from "./launcher.js";
import type { WorkerLaunch } from "../worker/launch.js";

const launch = (epoch: string): WorkerLaunch => ({
  managerAddress: "127.0.0.1:1",
  tls: { keyPem: "", certChainPem: "", trustPem: "" },
  task: {
    taskId: "t",
    attempt: 1,
    epoch,
    jobId: "j",
    taskKey: "k",
    kind: "noop",
    spec: null,
    deps: null,
    engine: { name: "ffmpeg", version: "5.1" },
    engineImage: "",
  },
  stores: {},
  workDir: "/tmp/x",
  ffmpegPath: "ffmpeg",
  ffprobePath: "ffprobe",
  runner: "process",
});

function launcherRunning(script: string, spare: boolean | number = false) {
  const exits: WorkerExit[] = [];
  let resolveExit!: (e: WorkerExit) => void;
  const exited = new Promise<WorkerExit>((r) => (resolveExit = r));
  const l = new WorkerLauncher({
    command: process.execPath,
    args: ["-e", script],
    memoryPollMs: 100,
    spare,
    onExit: (e) => {
      exits.push(e);
      resolveExit(e);
    },
  });
  return { l, exited };
}

describe("worker launcher", () => {
  it("kills a worker whose process tree passes its memory limit, with a clear reason", async () => {
    // allocates ~400 MiB and touches it, then idles
    const { l, exited } = launcherRunning(
      "const b = []; for (let i = 0; i < 40; i++) { const x = Buffer.alloc(10 * 1024 * 1024, 1); b.push(x); } setInterval(() => {}, 1000);",
    );
    l.launch(launch("1"), 150);
    const e = await exited;
    expect(e.signal).toBe("SIGKILL");
    expect(e.reason).toMatch(/memory limit exceeded: \d+ MiB used, limit 150 MiB/);
    expect(l.runningAttempts()).toEqual([]);
  });

  it("leaves a worker under its limit alone and stops it on request", async () => {
    const mark = path.join(os.tmpdir(), `ff-launcher-${process.pid}-${Date.now()}`);
    const { l, exited } = launcherRunning(
      `process.on('SIGTERM', () => process.exit(0)); require('fs').writeFileSync(${JSON.stringify(mark)}, '1'); setInterval(() => {}, 1000);`,
    );
    l.launch(launch("2"), 2048);
    // under load a process can take a while to start: wait until its SIGTERM handler is in place
    for (let i = 0; i < 200 && !fs.existsSync(mark); i++) await new Promise((r) => setTimeout(r, 50));
    fs.rmSync(mark, { force: true });
    expect(l.runningAttempts().map((a) => a.epoch)).toEqual(["2"]);
    expect(l.stop("2", "cancelled: user asked")).toBe(true);
    const e = await exited;
    expect(e.exitCode).toBe(0);
    expect(e.reason).toBe("cancelled: user asked");
  });

  it("starts tasks on spare workers started ahead of time, oldest first, and keeps two spare", async () => {
    const script = "process.stdin.once('data', () => setTimeout(() => process.exit(0), 100)); process.stdin.resume();";
    const { l, exited } = launcherRunning(script, true);
    const before = l.sparePids();
    expect(before).toHaveLength(2);
    l.launch(launch("3"), 2048);
    // the oldest spare took the task; a new one replaced it at once
    const after = l.sparePids();
    expect(after).toHaveLength(2);
    expect(after[0]).toBe(before[1]);
    expect(before).not.toContain(after[1]);
    const e = await exited;
    expect(e.exitCode).toBe(0);
    l.stopAll("test over");
    expect(l.sparePids()).toEqual([]);
  });
});

describe("descendants", () => {
  it("finds children and grandchildren, as a scan of all of /proc does", async () => {
    // sh -> (sleep, sh -> sleep): two levels below the spawned process
    const child = spawn("sh", ["-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"], { stdio: "ignore" });
    try {
      let found: number[] = [];
      for (let i = 0; i < 50 && found.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 100));
        found = descendants(child.pid!);
      }
      expect(found).toHaveLength(3);
      // the same set the ppid scan gives
      const byPpid = (pid: number): number[] =>
        fs
          .readdirSync("/proc")
          .filter((e) => /^\d+$/.test(e))
          .filter((e) => {
            try {
              const st = fs.readFileSync(`/proc/${e}/stat`, "utf8");
              return Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]) === pid;
            } catch {
              return false;
            }
          })
          .map(Number);
      const scan: number[] = [];
      const walk = (p: number) => byPpid(p).forEach((c) => (scan.push(c), walk(c)));
      walk(child.pid!);
      expect([...found].sort()).toEqual([...scan].sort());
    } finally {
      for (const p of descendants(child.pid!)) process.kill(p, "SIGKILL");
      child.kill("SIGKILL");
    }
  });
});
