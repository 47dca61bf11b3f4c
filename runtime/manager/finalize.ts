// A job ends when every task is terminal. Its outputs are committed from the
// attempt-scoped staging area to where the customer reads them only now, so a
// retried or cancelled attempt never leaves a half-written package there.
import type { Json } from "../engine/types.js";
import type { Store } from "../storage/store.js";
import { finishJob, getJobById, taskResultsForJob, TERMINAL_JOB_STATES, type Db, type JobRow } from "./store/index.js";

export type CommitFn = (args: {
  jobId: string;
  composition: Json;
  results: Record<string, { state: string; result: Json }>;
  resolveStore: (name: string) => Store;
}) => Promise<{ committed: string[]; missing: { rendition: string; reason: string }[] }>;

export interface FinalizerDeps {
  db: Db;
  resolveStore: (name: string) => Store;
  /** per-tenant stores (registered through the API); when set, used instead of resolveStore */
  resolverFor?: (tenant: string) => Promise<(name: string) => Store>;
  commit?: CommitFn;
  log?(msg: string, fields?: Record<string, unknown>): void;
  onFinished?(job: JobRow): void;
}

export class Finalizer {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly deps: FinalizerDeps) {}

  /** Idempotent and safe to call from several places (result handler, sweep) at once. */
  finalize(jobId: string): Promise<void> {
    let p = this.inFlight.get(jobId);
    if (!p) {
      p = this.run(jobId)
        .catch((err) => this.deps.log?.("finalising job failed; the sweep will retry", { job: jobId, error: String(err) }))
        .finally(() => this.inFlight.delete(jobId));
      this.inFlight.set(jobId, p);
    }
    return p;
  }

  private async run(jobId: string): Promise<void> {
    const { db } = this.deps;
    const job = await getJobById(db, jobId);
    if (!job || TERMINAL_JOB_STATES.includes(job.state)) return;
    const results = await taskResultsForJob(db, jobId);
    const tasks = Object.entries(results);
    if (tasks.some(([, t]) => ["blocked", "ready", "leased", "running"].includes(t.state))) return;
    const hardFailure = tasks.find(([, t]) => !t.optional && (t.state === "failed" || t.state === "cancelled"));
    let finished: JobRow | undefined;
    if (hardFailure) {
      const [key, t] = hardFailure;
      finished = await finishJob(db, jobId, "failed", null, { task: key, reason: t.error ?? t.state });
    } else {
      const optionalFailed = tasks
        .filter(([, t]) => t.optional && t.state === "failed")
        .map(([k, t]) => ({ task: k, reason: t.error ?? "failed" }));
      let outputs: Json = null;
      const composition = job.composition as Record<string, Json> | null;
      if (this.deps.commit && composition && typeof composition === "object" && "output" in composition) {
        try {
          const r = await this.deps.commit({
            jobId,
            composition: job.composition,
            results: Object.fromEntries(tasks.map(([k, t]) => [k, { state: t.state, result: t.result }])),
            resolveStore: this.deps.resolverFor ? await this.deps.resolverFor(job.tenant) : this.deps.resolveStore,
          });
          outputs = { committed: r.committed, missing: r.missing } as unknown as Json;
        } catch (err) {
          finished = await finishJob(db, jobId, "failed", null, { reason: `committing outputs failed: ${(err as Error).message}` });
          if (finished) this.deps.onFinished?.(finished);
          return;
        }
      }
      finished = await finishJob(
        db,
        jobId,
        optionalFailed.length > 0 ? "partial" : "succeeded",
        outputs,
        optionalFailed.length > 0 ? ({ missing: optionalFailed } as unknown as Json) : null,
      );
    }
    if (finished) this.deps.onFinished?.(finished);
  }
}
