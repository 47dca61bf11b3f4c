// Two periodic storage duties of the manager, both safe to run on several replicas:
//
// - cleanupOrphanedStaging: a failed or cancelled job never commits, so its staging
//   area (`.framefleet-staging/<job>/`, every attempt's intermediates) would stay in the
//   output store. This deletes it once the job has been terminal for a grace period and
//   marks the job so it is done once. (A bucket lifecycle rule on the staging prefix,
//   see bucketRolePolicy, is the backstop for anything a crashed manager leaves.)
// - pollWatchFolders: lists each watch folder's prefix and starts one job per object
//   version it has not seen (claimed with an insert that only one replica wins, and
//   submitted with an idempotency key, so a crash between the two never doubles a job).
//   Where a folder also gets bucket notifications (watch-notify.ts), polling is the
//   reconciliation pass for anything a notification missed; both claim on startWatchObject.
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Json, PlannedTask } from "../engine/types.js";
import { jobStagingPrefix } from "../engine/layout.js";
import { parseStoreRef, RESERVED_PREFIX } from "../storage/keys.js";
import type { ObjectInfo, Store } from "../storage/store.js";
import type { CompositionLike, CompositionValidator } from "./api/types.js";
import { compositionBoundaryErrors } from "./api/jobs.js";
import {
  claimWatchObject,
  insertJob,
  jobsWithOrphanedStaging,
  listWatchFolders,
  markStagingCleaned,
  markWatchPolled,
  markWatchSkipped,
  recordWatchJob,
  resolveEngine,
  type Db,
  type EngineHardware,
  type WatchFolderRow,
} from "./store/index.js";

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export async function cleanupOrphanedStaging(deps: {
  db: Db;
  resolverFor(tenant: string): Promise<(name: string) => Store>;
  graceSeconds?: number;
  limit?: number;
  log?: Log;
}): Promise<{ jobs: number; objects: number }> {
  let jobs = 0;
  let objects = 0;
  for (const j of await jobsWithOrphanedStaging(deps.db, { graceSeconds: deps.graceSeconds ?? 60, limit: deps.limit ?? 50 })) {
    try {
      const uri = (j.composition as { output?: { uri?: unknown } } | null)?.output?.uri;
      if (typeof uri === "string") {
        const out = parseStoreRef(uri, { prefix: true });
        const store = (await deps.resolverFor(j.tenant))(out.store);
        objects += await store.deletePrefix(jobStagingPrefix(j.id));
      }
      await markStagingCleaned(deps.db, j.id);
      jobs++;
    } catch (err) {
      deps.log?.("removing a job's staging failed; the next sweep retries", { job: j.id, error: String(err) });
    }
  }
  return { jobs, objects };
}

/** The composition a watch folder starts for one object. */
export function watchComposition(template: Json, inputUri: string, outputPrefix: string, key: string): Json {
  const base = path.posix.basename(key).replace(/\.[^.]*$/, "") || "object";
  const t = (template && typeof template === "object" && !Array.isArray(template) ? template : {}) as Record<string, Json>;
  const input = (t.input && typeof t.input === "object" && !Array.isArray(t.input) ? t.input : {}) as Record<string, Json>;
  return { ...t, input: { ...input, uri: inputUri }, output: { uri: `${outputPrefix}${base}/` } };
}

export interface WatchStartDeps {
  db: Db;
  resolverFor(tenant: string): Promise<(name: string) => Store>;
  storesFor(tenant: string): Promise<string[]>;
  validateComposition: CompositionValidator<CompositionLike>;
  planJob: (c: CompositionLike, opts: { jobId: string }) => PlannedTask[];
  onJobSubmitted?(jobId: string): void;
  log?: Log;
  /** a claim whose job was never recorded is taken over after this long (default 300 s) */
  retakeAfterSeconds?: number;
}

/**
 * Starts the job for one object version of a watch folder, once: the claim is an insert
 * only one caller (poll, notification, replica) wins. Notifications and polls meet here.
 */
export async function startWatchObject(
  deps: WatchStartDeps,
  w: Pick<WatchFolderRow, "tenant" | "name" | "store" | "template" | "outputPrefix">,
  o: ObjectInfo,
): Promise<{ started?: string }> {
  const version = `${o.size}:${o.modified.getTime()}`;
  if (!(await claimWatchObject(deps.db, w.tenant, w.name, o.key, version, deps.retakeAfterSeconds))) return {};
  const composition = watchComposition(w.template, `store://${w.store}/${o.key}`, w.outputPrefix, o.key);
  const checked = deps.validateComposition(composition);
  const errors = checked.ok ? compositionBoundaryErrors(checked.value, new Set(await deps.storesFor(w.tenant))) : checked.errors;
  if (!checked.ok || errors.length > 0) {
    deps.log?.("watch folder: the composition for a new object is not valid; skipped", { watch: w.name, key: o.key, errors });
    await markWatchSkipped(deps.db, w.tenant, w.name, o.key, version, JSON.stringify(errors));
    return {};
  }
  // like an API submission, a watched object's job runs only a registered engine, recorded as resolved now
  const engine = await resolveEngine(deps.db, checked.value.engine, (checked.value as { hardware?: EngineHardware }).hardware ?? "cpu");
  if (!engine.ok) {
    deps.log?.("watch folder: the composition's engine is not registered; skipped", { watch: w.name, key: o.key, error: engine.message });
    return {};
  }
  const jobId = randomUUID();
  const tasks = deps.planJob(checked.value, { jobId });
  const r = await insertJob(deps.db, {
    id: jobId,
    tenant: w.tenant,
    priority: 50,
    composition: checked.value as unknown as Json,
    engine: { name: checked.value.engine.name, version: checked.value.engine.version },
    resolvedEngine: { version: engine.engine.version, image: engine.engine.image },
    labels: { "framefleet.watch": w.name },
    tasks,
    idempotencyKey: `watch:${w.name}:${o.key}:${version}`.slice(0, 1500),
  });
  await recordWatchJob(deps.db, w.tenant, w.name, o.key, version, r.job.id);
  if (!r.created) return {};
  deps.onJobSubmitted?.(r.job.id);
  return { started: r.job.id };
}

export async function pollWatchFolders(deps: WatchStartDeps): Promise<{ started: string[] }> {
  const started: string[] = [];
  for (const w of await listWatchFolders(deps.db)) {
    try {
      const store = (await deps.resolverFor(w.tenant))(w.store);
      for (const o of await store.list(w.prefix)) {
        if (o.key.startsWith(RESERVED_PREFIX + "/") || o.size === 0) continue;
        const r = await startWatchObject(deps, w, o);
        if (r.started) started.push(r.started);
      }
      await markWatchPolled(deps.db, w.tenant, w.name);
    } catch (err) {
      deps.log?.("watch folder poll failed", { tenant: w.tenant, watch: w.name, error: String(err) });
    }
  }
  return { started };
}
