// One worker process per task attempt. It dials the manager on its own
// task-scoped certificate, runs the task through a Runner, streams progress
// and audit evidence, and reports the result. It stops at once if the manager
// refuses it (stale lease) or if its coordinator goes away.
import fs from "node:fs/promises";
import { ReportChannel } from "./report-channel.js";
import { PermanentTaskError, type AuditEntry, type DependencyResults, type TaskContext } from "../engine/types.js";
import { storeResolver, type StoreDefinitions } from "../storage/definitions.js";
import type { WorkerLaunch } from "./launch.js";
import type { Runner } from "./runner.js";

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
  const ctx: TaskContext = {
    jobId: t.jobId,
    taskId: t.taskId,
    taskKey: t.taskKey,
    attempt: t.attempt,
    engine: t.engine,
    resolveStore: storeResolver(launch.stores as unknown as StoreDefinitions),
    workDir: launch.workDir,
    ffmpegPath: launch.ffmpegPath,
    ffprobePath: launch.ffprobePath,
    signal: abort.signal,
    deps: (t.deps ?? {}) as DependencyResults,
    onProgress(fraction: number, detail?: string) {
      const now = Date.now();
      if (now - lastProgressAt < 250 && fraction < 1) return;
      lastProgressAt = now;
      channel.progress(Math.max(0, Math.min(1, fraction)), detail ?? "");
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
  }
  if (abort.signal.aborted) {
    channel.close();
    return { outcome: "CANCELLED", accepted: false, reason: String((abort.signal.reason as Error)?.message ?? "aborted") };
  }
  const ack = await channel.complete({ outcome, resultJson, error });
  return { outcome, accepted: ack.accepted, reason: ack.reason };
}
