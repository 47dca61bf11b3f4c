// `framefleet coordinator`: the agent a compute host runs (systemd in the cloud,
// a child process of the local fleet in the embedded region). Configured from
// the environment so host bootstrap scripts stay simple.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { resolveBinaries } from "../engine/discover.js";
import { Coordinator } from "./coordinator.js";
import { tsEntry } from "../ts-entry.js";
import { InterruptionWatcher } from "./interruption.js";

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === "") throw new Error(`${name} is required`);
  return v;
}

function numberEnv(name: string): number | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

export function runnerFromEnv(v = process.env.FRAMEFLEET_RUNNER): "process" | "container" {
  if (!v || v === "process") return "process";
  if (v === "container") return "container";
  throw new Error(`FRAMEFLEET_RUNNER must be "process" or "container", got ${JSON.stringify(v)}`);
}

export async function main(): Promise<void> {
  const runner = runnerFromEnv();
  // the container runner runs ffmpeg from each task's image: this host needs none of its own
  const { ffmpegPath, ffprobePath } = runner === "container" ? { ffmpegPath: "ffmpeg", ffprobePath: "ffprobe" } : await resolveBinaries();
  const stateDir = env("FRAMEFLEET_STATE_DIR", path.join(os.homedir(), ".framefleet-coordinator"));
  const trustFile = process.env.FRAMEFLEET_TRUST_FILE;
  const log = (msg: string, fields?: Record<string, unknown>) =>
    process.stderr.write(JSON.stringify({ t: new Date().toISOString(), c: "coordinator", msg, ...fields }) + "\n");
  const c = new Coordinator({
    managerAddress: env("FRAMEFLEET_MANAGER"),
    joinAddress: env("FRAMEFLEET_JOIN", process.env.FRAMEFLEET_MANAGER),
    serverName: process.env.FRAMEFLEET_SERVER_NAME || undefined,
    stateDir,
    joinToken: process.env.FRAMEFLEET_JOIN_TOKEN,
    bootstrapTrustPem: trustFile ? fs.readFileSync(trustFile, "utf8") : undefined,
    capacity: { cpuMillis: numberEnv("FRAMEFLEET_CPU_MILLIS"), memoryMb: numberEnv("FRAMEFLEET_MEMORY_MB") },
    pools: process.env.FRAMEFLEET_POOLS ? process.env.FRAMEFLEET_POOLS.split(",") : [],
    capacityType: process.env.FRAMEFLEET_CAPACITY_TYPE ?? "local",
    instanceType: process.env.FRAMEFLEET_INSTANCE_TYPE ?? "",
    memoryLimitMb: numberEnv("FRAMEFLEET_WORKER_MEMORY_LIMIT_MB"),
    workRoot: env("FRAMEFLEET_WORK_DIR", path.join(stateDir, "work")),
    runner,
    ffmpegPath,
    ffprobePath,
    worker: tsEntry("worker/main.ts"),
    log,
  });
  const shutdown = () => {
    void c.stop().then(() => setTimeout(() => process.exit(0), 500));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  await c.start();
  // a spot interruption notice (written by the host bootstrap's watcher) drains this host
  new InterruptionWatcher({ onNotice: (n) => c.beginDrain(n.raw), log }).start();
}

main().catch((err) => {
  process.stderr.write(`coordinator failed: ${(err as Error).message}\n`);
  process.exit(1);
});
