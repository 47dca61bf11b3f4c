// One worker process per task attempt. It dials the manager on its own
// task-scoped certificate, runs the task through a Runner, streams progress
// and audit evidence, and reports the result. It stops at once if the manager
// refuses it (stale lease) or if its coordinator goes away.
import fs from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { loadProto } from "../proto/index.js";
import type { ReportAck__Output, WorkerClient, WorkerMessage } from "../proto/index.js";
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
  const proto = loadProto().framefleet.v1;
  const creds = grpc.credentials.createSsl(
    Buffer.from(launch.tls.trustPem), Buffer.from(launch.tls.keyPem), Buffer.from(launch.tls.certChainPem),
  );
  const options: grpc.ClientOptions = launch.serverName ? { "grpc.ssl_target_name_override": launch.serverName } : {};
  const client = new proto.Worker(launch.managerAddress, creds, options) as unknown as WorkerClient;
  const abort = new AbortController();
  parentGone.addEventListener("abort", () => abort.abort(new Error("coordinator went away")), { once: true });

  let ackResolve!: (v: { err: grpc.ServiceError | null; ack?: ReportAck__Output }) => void;
  const acked = new Promise<{ err: grpc.ServiceError | null; ack?: ReportAck__Output }>((r) => (ackResolve = r));
  const stream = client.Report((err, ack) => {
    // the manager ended the call before we finished: a refused or stale attempt
    if (err) abort.abort(new Error(err.details || err.message));
    ackResolve({ err, ack });
  });
  stream.on("error", () => {});
  const send = (m: WorkerMessage) => {
    if (!abort.signal.aborted) stream.write(m);
  };
  const t = launch.task;
  send({ attach: { taskId: t.taskId, attempt: t.attempt, epoch: t.epoch } });

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
      send({ progress: { fraction: Math.max(0, Math.min(1, fraction)), detail: detail ?? "" } });
    },
    audit(entry: AuditEntry) {
      send({ audit: { kind: entry.kind, dataJson: JSON.stringify(entry.data) } });
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
  if (!abort.signal.aborted) {
    stream.write({ result: { outcome, resultJson, error } });
  }
  stream.end();
  const { err, ack } = await Promise.race([
    acked,
    new Promise<{ err: grpc.ServiceError | null; ack?: ReportAck__Output }>((r) => setTimeout(() => r({ err: null, ack: { accepted: false, reason: "no acknowledgement from the manager" } }), 30_000)),
  ]);
  client.close();
  return { outcome, accepted: !err && !!ack?.accepted, reason: err ? err.details || err.message : ack?.reason ?? "" };
}
