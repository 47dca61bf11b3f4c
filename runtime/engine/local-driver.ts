// A test-only, in-process driver: runs a planned job's tasks in dependency order with
// retries, no platform (no database, no gRPC, no scheduler). Used by the engine's own
// end-to-end tests and as the baseline of the overhead benchmark.
//
// Semantics (the same the control plane is expected to implement):
//   - a task is ready when every dependency is terminal (succeeded, skipped or failed);
//   - a failed non-optional task fails the job, and nothing else is started;
//   - a failed optional task (an ABR rendition under `emit`) does not: its dependents
//     run and see it as "failed" in ctx.deps; the job ends "partial";
//   - PermanentTaskError is not retried; other errors are, up to maxAttempts;
//   - after verify succeeds the outputs are committed (commit.ts).

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { tmpdir } from "node:os";
import type { Store } from "../storage/store.js";
import { PermanentTaskError, type AuditEntry, type DependencyResults, type Json, type PlannedTask, type TaskContext } from "./types.js";
import type { Composition } from "./composition.js";
import { planJob } from "./plan.js";
import { runTask } from "./run.js";
import { resolveBinaries } from "./discover.js";
import { commitOutputs, type CommitResult } from "./commit.js";

export interface LocalJobOptions {
  jobId: string;
  composition: Composition;
  resolveStore(name: string): Store;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** parent of per-attempt scratch directories (default: os tmpdir) */
  workRoot?: string;
  concurrency?: number;
  /** test hook: make a task's first N attempts (or all: "always") fail before it runs */
  faults?: Record<string, number | "always">;
  onProgress?(taskKey: string, fraction: number, detail?: string): void;
  signal?: AbortSignal;
}

export interface LocalTaskRecord {
  state: "succeeded" | "skipped" | "failed" | "cancelled";
  attempts: number;
  result: Json;
  error?: string;
  permanent?: boolean;
  startedAt?: string;
  endedAt?: string;
}

export interface LocalJobResult {
  state: "succeeded" | "partial" | "failed";
  tasks: Record<string, LocalTaskRecord>;
  audit: { taskKey: string; attempt: number; entry: AuditEntry }[];
  commit?: CommitResult;
  error?: string;
  plan: PlannedTask[];
}

export async function runLocalJob(o: LocalJobOptions): Promise<LocalJobResult> {
  const plan = planJob(o.composition, { jobId: o.jobId });
  const tasks: Record<string, LocalTaskRecord> = {};
  const audit: LocalJobResult["audit"] = [];
  const workRoot = o.workRoot ?? (await mkdtemp(path.join(tmpdir(), "ff-local-")));
  await mkdir(workRoot, { recursive: true });
  const concurrency = Math.max(1, o.concurrency ?? 2);
  const bins = o.ffmpegPath && o.ffprobePath ? { ffmpegPath: o.ffmpegPath, ffprobePath: o.ffprobePath } : await resolveBinaries();
  const running = new Map<string, Promise<void>>();
  const faults = { ...(o.faults ?? {}) };
  let jobFailed: string | undefined;

  const terminal = (k: string) => tasks[k] !== undefined;
  const ready = () => plan.filter((t) => !terminal(t.key) && !running.has(t.key) && t.dependsOn.every((d) => terminal(d)));

  const runOne = async (t: PlannedTask): Promise<void> => {
    const deps: DependencyResults = {};
    for (const d of t.dependsOn) {
      const r = tasks[d]!;
      deps[d] = { state: r.state === "succeeded" ? "succeeded" : r.state === "skipped" ? "skipped" : "failed", result: r.result };
    }
    const startedAt = new Date().toISOString();
    let lastErr: unknown;
    for (let attempt = 1; attempt <= t.maxAttempts; attempt++) {
      const workDir = await mkdtemp(path.join(workRoot, `${t.key.replace(/[^A-Za-z0-9_-]/g, "_")}-${attempt}-`));
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      o.signal?.addEventListener("abort", onAbort, { once: true });
      const ctx: TaskContext = {
        jobId: o.jobId,
        taskId: `${o.jobId}:${t.key}`,
        taskKey: t.key,
        attempt,
        engine: o.composition.engine,
        resolveStore: o.resolveStore,
        workDir,
        ffmpegPath: o.ffmpegPath ?? bins.ffmpegPath,
        ffprobePath: o.ffprobePath ?? bins.ffprobePath,
        signal: ac.signal,
        deps,
        onProgress: (f, detail) => o.onProgress?.(t.key, f, detail),
        audit: (entry) => audit.push({ taskKey: t.key, attempt, entry }),
      };
      try {
        const fault = faults[t.key];
        if (fault === "always" || (typeof fault === "number" && attempt <= fault)) {
          throw new Error(`injected fault in ${t.key} attempt ${attempt}`);
        }
        const outcome = await runTask(t.kind, t.spec, ctx);
        tasks[t.key] = { state: outcome.state, attempts: attempt, result: outcome.result, startedAt, endedAt: new Date().toISOString() };
        return;
      } catch (e) {
        lastErr = e;
        if (e instanceof PermanentTaskError || ac.signal.aborted || o.signal?.aborted) break;
      } finally {
        o.signal?.removeEventListener("abort", onAbort);
        await rm(workDir, { recursive: true, force: true });
      }
    }
    const cancelled = o.signal?.aborted ?? false;
    const msg = lastErr instanceof Error ? lastErr.message : String(lastErr);
    tasks[t.key] = {
      state: cancelled ? "cancelled" : "failed",
      attempts: Math.min(t.maxAttempts, lastErr instanceof PermanentTaskError ? 1 : t.maxAttempts),
      result: { reason: msg, ...(lastErr instanceof PermanentTaskError && lastErr.field ? { field: lastErr.field } : {}) },
      error: msg,
      permanent: lastErr instanceof PermanentTaskError,
      startedAt,
      endedAt: new Date().toISOString(),
    };
    if (!t.optional || cancelled) jobFailed ??= `${t.key}: ${msg}`;
  };

  for (;;) {
    if (!jobFailed && !o.signal?.aborted) {
      for (const t of ready()) {
        if (running.size >= concurrency) break;
        const p = runOne(t).finally(() => running.delete(t.key));
        running.set(t.key, p);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }

  const result: LocalJobResult = { state: "failed", tasks, audit, plan };
  if (jobFailed || o.signal?.aborted) {
    result.error = jobFailed ?? "cancelled";
    if (!o.workRoot) await rm(workRoot, { recursive: true, force: true });
    return result;
  }
  for (const t of plan) if (!tasks[t.key]) tasks[t.key] = { state: "cancelled", attempts: 0, result: null };
  const commit = await commitOutputs({
    jobId: o.jobId,
    composition: o.composition,
    results: Object.fromEntries(Object.entries(tasks).map(([k, v]) => [k, { state: v.state, result: v.result }])),
    resolveStore: o.resolveStore,
  });
  result.commit = commit;
  const anyOptionalFailed = plan.some((t) => t.optional && tasks[t.key]?.state === "failed");
  result.state = anyOptionalFailed ? "partial" : "succeeded";
  if (!o.workRoot) await rm(workRoot, { recursive: true, force: true });
  return result;
}
