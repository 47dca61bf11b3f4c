// The contract between the control plane (manager, scheduler, worker) and the engine.
// The control plane never looks inside a task's spec or result: it stores them as JSON,
// hands a task the results of the tasks it depends on, and records what the engine
// asks it to audit. Everything media-specific lives behind these types.

import type { Store } from "../storage/store.js";
import type { ProcessExec } from "./proc.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Each kind runs in its own pool so probes never queue behind long encodes. */
export type Pool = "probe" | "encode" | "package";

export interface Requirements {
  /** thousandths of a core */
  cpuMillis: number;
  memoryMb: number;
  gpus: number;
}

/** One node of a job's DAG, produced at submission by `planJob`. */
export interface PlannedTask {
  /** unique within the job, e.g. "probe", "encode:720p", "package" */
  key: string;
  kind: string;
  pool: Pool;
  requirements: Requirements;
  /** keys of tasks that must succeed (or be skipped) first */
  dependsOn: string[];
  maxAttempts: number;
  /** the engine's own description of the work; opaque to the control plane */
  spec: Json;
  /**
   * When true, exhausting this task's attempts does not fail the job by itself:
   * the job's partial-success policy decides (ABR renditions under `emit`).
   */
  optional?: boolean;
}

export interface EnginePin {
  name: string;
  version: string;
}

/** What a finished dependency handed on; keyed by the dependency's task key. */
export type DependencyResults = Record<string, { state: "succeeded" | "failed" | "skipped"; result: Json }>;

export interface AuditEntry {
  /** e.g. "input.sha256", "ffprobe", "ffmpeg.argv", "output.sha256", "engine" */
  kind: string;
  data: Json;
}

export interface TaskContext {
  jobId: string;
  taskId: string;
  taskKey: string;
  attempt: number;
  engine: EnginePin;
  /** the tenant's stores by name (`store://<name>/...`); throws for a store the task may not use */
  resolveStore(name: string): Store;
  /** per-attempt scratch directory, removed by the worker afterwards */
  workDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  /**
   * Set by the container runner: every ffmpeg/ffprobe invocation goes through it (into
   * the task's engine image), and the engine audited is the image's. Absent: the
   * host's own binaries at ffmpegPath/ffprobePath.
   */
  exec?: EngineExec;
  signal: AbortSignal;
  deps: DependencyResults;
  /** fraction in [0,1]; cheap to call often, the worker throttles what it sends */
  onProgress(fraction: number, detail?: string): void;
  audit(entry: AuditEntry): void;
}

/** What an EngineExec runs: the identity checked against the job's pin, and what the engine audit records. */
export interface ExecEngine {
  name: string;
  version: string;
  fullVersion: string;
  audit: { [key: string]: Json };
}

export interface EngineExec extends ProcessExec {
  describe(): Promise<ExecEngine>;
}

export interface TaskOutcome {
  /** "skipped": the work was deliberately not done (e.g. a rendition above the source) */
  state: "succeeded" | "skipped";
  result: Json;
}

/** A task that cannot succeed however often it is retried (bad input, corrupt file). */
export class PermanentTaskError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "PermanentTaskError";
  }
}
