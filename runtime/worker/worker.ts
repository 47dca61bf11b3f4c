// One worker process per task attempt. It dials the manager on its own
// task-scoped certificate, runs the task through a Runner, streams progress
// and audit evidence, and reports the result. It stops at once if the manager
// refuses it (stale lease) or if its coordinator goes away.
import fs from "node:fs/promises";
import { ReportChannel } from "./report-channel.js";
import { PermanentTaskError, type AuditEntry, type DependencyResults, type TaskContext } from "../engine/types.js";
import type { StoreDefinitions } from "../storage/definitions.js";
import { workerStoreResolver } from "../storage/worker-stores.js";
import type { WorkerLaunch } from "./launch.js";
import type { Runner } from "./runner.js";
import { signClient } from "./sign-client.js";

export interface WorkerResult {
  outcome: "SUCCEEDED" | "SKIPPED" | "FAILED" | "FAILED_PERMANENT" | "CANCELLED";
  accepted: boolean;
  reason: string;
}

export async function runWorker(launch: WorkerLaunch, runner: Runner, parentGone: AbortSignal): Promise<WorkerResult> {
  const abort = new AbortController();
  parentGone.addEventListener("abort", () => abort.abort(new Error("coordinator went away")), { once: true });
  const t = launch.task;
  const channel = new ReportChannel({
    address: launch.managerAddress,
    serverName: launch.serverName,
    tls: launch.tls,
    attach: { taskId: t.taskId, attempt: t.attempt, epoch: t.epoch },
    onRefused: (reason) => abort.abort(new Error(`manager refused this attempt: ${reason}`)),
  });

  let lastProgressAt = 0;
  let lastFraction = 0;
  // cloud stores arrive as presigned grants; writes are signed by the manager on request
  const signing = signClient({
    address: launch.managerAddress,
    serverName: launch.serverName,
    tls: launch.tls,
    task: { taskId: t.taskId, attempt: t.attempt, epoch: t.epoch },
  });
  const ctx: TaskContext = {
    jobId: t.jobId,
    taskId: t.taskId,
    taskKey: t.taskKey,
    attempt: t.attempt,
    engine: t.engine,
    resolveStore: workerStoreResolver(launch.stores as unknown as StoreDefinitions, {
      signer: signing.signer,
      // transfer progress rides on the task's progress detail (the fraction stays the engine's)
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastProgressAt < 1000) return;
        lastProgressAt = now;
        const pct = p.total ? ` ${Math.round((100 * p.loaded) / p.total)}%` : "";
        channel.progress(lastFraction, `transfer ${p.key.split("/").pop()}: ${(p.loaded / 1048576).toFixed(1)} MiB${pct}`);
      },
    }),
    workDir: launch.workDir,
    ffmpegPath: launch.ffmpegPath,
    ffprobePath: launch.ffprobePath,
    signal: abort.signal,
    deps: (t.deps ?? {}) as DependencyResults,
    onProgress(fraction: number, detail?: string) {
      const now = Date.now();
      if (now - lastProgressAt < 250 && fraction < 1) return;
      lastProgressAt = now;
      lastFraction = Math.max(0, Math.min(1, fraction));
      channel.progress(lastFraction, detail ?? "");
    },
    audit(entry: AuditEntry) {
      channel.audit(entry.kind, JSON.stringify(entry.data));
    },
  };

  await fs.mkdir(launch.workDir, { recursive: true });
  let outcome: WorkerResult["outcome"];
  let resultJson = "";
  let error = "";
  try {
    const out = await runner.run(t.kind, t.spec, ctx);
    outcome = out.state === "skipped" ? "SKIPPED" : "SUCCEEDED";
    resultJson = JSON.stringify(out.result ?? null);
  } catch (err) {
    error = (err as Error)?.message ?? String(err);
    outcome = abort.signal.aborted ? "CANCELLED" : err instanceof PermanentTaskError ? "FAILED_PERMANENT" : "FAILED";
    if (err instanceof PermanentTaskError && err.field) error = `${err.field}: ${error}`;
  } finally {
    await fs.rm(launch.workDir, { recursive: true, force: true }).catch(() => {});
    signing.close();
  }
  if (abort.signal.aborted) {
    channel.close();
    return { outcome: "CANCELLED", accepted: false, reason: String((abort.signal.reason as Error)?.message ?? "aborted") };
  }
  const ack = await channel.complete({ outcome, resultJson, error });
  return { outcome, accepted: ack.accepted, reason: ack.reason };
}
