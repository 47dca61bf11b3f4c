// /v1/jobs and /v1/coordinators. Every job query is scoped by the caller's tenant,
// so another tenant's job is indistinguishable from one that does not exist (404).

import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Json } from "../../engine/types.js";
import { parseStoreRef, StoreRefError } from "../../storage/keys.js";
import {
  cancelJob,
  decodeCursor,
  getFactory,
  getJob,
  IdempotencyConflictError,
  insertJob,
  listAudit,
  listCoordinatorsWithLoad,
  listJobs,
  listJobTasks,
  type AuditRow,
  type CoordinatorWithLoad,
  type JobRow,
  type JobState,
  type NewJob,
  type TaskSummary,
} from "../store/index.js";
import { jobsProgress } from "../store/api-queries.js";
import { jobsSubmitted } from "../metrics.js";
import { requestHash } from "./canonical.js";
import { ApiProblem, pointerToken, type FieldProblem } from "./problems.js";
import {
  AuditPageSchema,
  AuditQuerySchema,
  CancelResponseSchema,
  CoordinatorListSchema,
  JobIdParamsSchema,
  JobPageSchema,
  ListJobsQuerySchema,
  SubmitBodySchema,
  SubmitHeadersSchema,
  type AuditQuery,
  type ListJobsQuery,
  type SubmitBody,
} from "./schemas.js";
import { principalOf, type RoleGuard } from "./auth.js";
import { applyFactory } from "./factories.js";
import { refuseRawImage, resolveOrRefuse } from "./engines.js";
import type { EngineHardware } from "../store/index.js";
import type { ApiDeps, CompositionLike } from "./types.js";

/** Error responses are served as application/problem+json; keyed by content type so the document says so. */
const ProblemRef = { description: "RFC 9457 problem details", content: { "application/problem+json": { schema: { $ref: "Problem" } } } };
const JobRef = { $ref: "Job" };
/** The error responses every authenticated route may give, for the OpenAPI document. */
const authErrors = { 400: ProblemRef, 401: ProblemRef, 403: ProblemRef };

export function registerJobRoutes<C extends CompositionLike>(
  app: FastifyInstance,
  deps: ApiDeps<C>,
  requireRole: (role: "viewer" | "submitter" | "operator" | "admin") => RoleGuard,
  security: { bearerAuth: string[] }[],
): void {
  const { db, region } = deps;

  app.post<{ Body: SubmitBody; Headers: { "idempotency-key"?: string } }>(
    "/v1/jobs",
    {
      onRequest: requireRole("submitter"),
      preValidation: refuseRawImage("/composition/engine"),
      schema: {
        tags: ["jobs"],
        summary: "Submit a job",
        description:
          "Validates the composition, checks that every store:// reference names a store this tenant may use, plans the task DAG " +
          "and queues the job. With an Idempotency-Key, repeating the same request returns the first job (200).",
        security,
        headers: SubmitHeadersSchema,
        body: SubmitBodySchema,
        response: { 201: JobRef, 200: JobRef, ...authErrors, 409: ProblemRef, 413: ProblemRef, 415: ProblemRef, 422: ProblemRef },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      const body = req.body;
      const idempotencyKey = req.headers["idempotency-key"];

      let submitted: unknown = body.composition;
      let factory: { name: string; revision: number } | undefined;
      if (body.factory !== undefined) {
        const f = await getFactory(db, principal.tenant, body.factory);
        if (!f) throw compositionProblem([{ field: "/factory", reason: `this tenant has no factory named ${body.factory}` }]);
        const applied = applyFactory(f, body.composition);
        if (!applied.ok) throw compositionProblem(applied.errors);
        submitted = applied.value;
        factory = { name: f.name, revision: f.revision };
      }
      const checked = deps.validateComposition(submitted);
      if (!checked.ok) throw compositionProblem(checked.errors.map((e) => ({ field: compositionField(e.field), reason: e.reason })));
      const refErrors = compositionBoundaryErrors(checked.value, new Set(await deps.storesFor(principal.tenant)));
      if (refErrors.length > 0) throw compositionProblem(refErrors);
      // resolved once, here: the job keeps this exact version and image whatever is registered later
      const engine = await resolveOrRefuse(
        db,
        checked.value.engine,
        (checked.value as { hardware?: EngineHardware }).hardware,
        factory ? "/factory" : "/composition/engine",
      );

      const jobId = randomUUID();
      let tasks;
      try {
        tasks = deps.planJob(checked.value, { jobId });
      } catch (err) {
        // the validator accepted it, so this is the engine's bug, not the client's; still name it
        req.log.error({ err }, "planJob failed on a validated composition");
        throw new ApiProblem("invalid-composition", "The composition passed validation but could not be planned", [
          { field: "/composition", reason: (err as Error).message ?? "planning failed" },
        ]);
      }
      const newJob: NewJob & { id: string } = {
        id: jobId,
        tenant: principal.tenant,
        priority: body.priority ?? 50,
        composition: checked.value as unknown as Json,
        engine: { name: checked.value.engine.name, version: checked.value.engine.version },
        resolvedEngine: { version: engine.version, image: engine.image },
        labels: body.labels ?? {},
        tasks,
        ...(factory ? { factory } : {}),
        ...(idempotencyKey !== undefined ? { idempotencyKey, requestHash: requestHash(body) } : {}),
      };
      let out: { job: JobRow; created: boolean };
      try {
        out = await insertJob(db, newJob);
      } catch (err) {
        if (err instanceof IdempotencyConflictError) {
          throw new ApiProblem("conflict", "This Idempotency-Key was already used with a different request body", [
            { field: "header/Idempotency-Key", reason: "already used with a different body; use a new key for a new job" },
          ]);
        }
        throw err;
      }
      if (out.created) {
        jobsSubmitted.inc({ tenant: principal.tenant });
        try {
          deps.onJobSubmitted?.(out.job.id);
        } catch (err) {
          req.log.error({ err }, "onJobSubmitted failed");
        }
      } else {
        reply.header("idempotent-replayed", "true");
      }
      const view = jobView(out.job, await listJobTasks(db, out.job.id), region);
      return reply
        .code(out.created ? 201 : 200)
        .header("location", `/v1/jobs/${out.job.id}`)
        .send(view);
    },
  );

  app.get<{ Querystring: ListJobsQuery }>(
    "/v1/jobs",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["jobs"],
        summary: "List the tenant's jobs, newest first",
        security,
        querystring: ListJobsQuerySchema,
        response: { 200: JobPageSchema, ...authErrors },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const q = req.query;
      let cursor: { createdAt: string; id: string } | undefined;
      if (q.cursor !== undefined) {
        cursor = decodeCursor(q.cursor);
        if (!cursor) {
          throw new ApiProblem("invalid-request", "The cursor is not one this API issued", [
            { field: "query/cursor", reason: "not a valid cursor: pass nextCursor from the previous page unchanged" },
          ]);
        }
      }
      const page = await listJobs(db, principal.tenant, { state: q.state as JobState | undefined, cursor, limit: q.limit ?? 50 });
      const progress = await jobsProgress(
        db,
        page.jobs.map((j) => j.id),
      );
      return {
        jobs: page.jobs.map((j) => ({ ...jobBase(j, region), progress: progress.get(j.id) ?? 0 })),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["jobs"],
        summary: "A job: state, tasks with progress and attempts, outputs, error",
        security,
        params: JobIdParamsSchema,
        response: { 200: JobRef, ...authErrors, 404: ProblemRef },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const job = await getJob(db, principal.tenant, req.params.id);
      if (!job) throw jobNotFound(req.params.id);
      return jobView(job, await listJobTasks(db, job.id), region);
    },
  );

  app.post<{ Params: { id: string } }>(
    "/v1/jobs/:id/cancel",
    {
      onRequest: requireRole("submitter"),
      schema: {
        tags: ["jobs"],
        summary: "Cancel a job",
        description: "Stops every unfinished task; running attempts are told to stop. 409 if the job has already finished.",
        security,
        params: JobIdParamsSchema,
        response: { 202: CancelResponseSchema, ...authErrors, 404: ProblemRef, 409: ProblemRef },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      const out = await cancelJob(db, principal.tenant, req.params.id, `cancelled through the API (key ${principal.keyId})`);
      if (out === "not-found") throw jobNotFound(req.params.id);
      if (out === "already-finished") {
        const job = await getJob(db, principal.tenant, req.params.id);
        throw new ApiProblem("conflict", `The job has already finished (${job?.state ?? "finished"}); there is nothing to cancel`, [
          { field: "path/id", reason: `job is ${job?.state ?? "finished"}` },
        ]);
      }
      if (out.running.length > 0) {
        try {
          deps.onCancelled?.(out.running);
        } catch (err) {
          req.log.error({ err }, "onCancelled failed");
        }
      }
      const view = jobView(out.job, await listJobTasks(db, out.job.id), region);
      return reply.code(202).send({ job: view, stoppedAttempts: out.running.length });
    },
  );

  app.get<{ Params: { id: string }; Querystring: AuditQuery }>(
    "/v1/jobs/:id/audit",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["jobs"],
        summary: "The job's append-only audit records, oldest first",
        description: "Input hash, ffprobe output, engine version and image digest, ffmpeg argv, stage timestamps, retries, output hashes.",
        security,
        params: JobIdParamsSchema,
        querystring: AuditQuerySchema,
        response: { 200: AuditPageSchema, ...authErrors, 404: ProblemRef },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const job = await getJob(db, principal.tenant, req.params.id);
      if (!job) throw jobNotFound(req.params.id);
      const limit = req.query.limit ?? 500;
      const rows = await listAudit(db, principal.tenant, job.id, { afterId: req.query.after ?? 0, limit });
      const last = rows[rows.length - 1];
      return { jobId: job.id, records: rows.map(auditView), nextAfter: rows.length === limit && last ? last.id : null };
    },
  );

  app.get(
    "/v1/coordinators",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["fleet"],
        summary: "Coordinators of this region with their capacity and load",
        security,
        response: { 200: CoordinatorListSchema, 401: ProblemRef, 403: ProblemRef },
      },
    },
    async () => {
      const rows = await listCoordinatorsWithLoad(db, { liveOnly: false });
      return { coordinators: rows.map(coordinatorView) };
    },
  );
}

function jobNotFound(id: string): ApiProblem {
  return new ApiProblem("not-found", `No job ${id}`, [{ field: "path/id", reason: "no such job" }]);
}

function compositionProblem(errors: FieldProblem[]): ApiProblem {
  const shown = errors
    .slice(0, 5)
    .map((e) => `${e.field}: ${e.reason}`)
    .join("; ");
  const more = errors.length > 5 ? ` (and ${errors.length - 5} more)` : "";
  return new ApiProblem("invalid-composition", `The composition is not acceptable: ${shown}${more}`, errors);
}

/** The engine reports pointers into the composition; the client needs them into the request body. */
function compositionField(field: string): string {
  if (field === "" || field === "/") return "/composition";
  return "/composition" + (field.startsWith("/") ? field : "/" + field);
}

/**
 * Every store:// reference anywhere in the composition must name one of the
 * tenant's stores, and no string may start with '-'. The engine has already checked the references' syntax; this is
 * the tenant boundary, which only the manager knows.
 */
export function compositionBoundaryErrors(value: unknown, allowed: Set<string>, path = "/composition"): FieldProblem[] {
  if (typeof value === "string") {
    // defence in depth at the trust boundary, whatever the engine's schema says: no
    // string of a composition may read as a command-line option
    if (value.startsWith("-")) return [{ field: path, reason: "must not start with '-': it could be read as an ffmpeg option" }];
    if (!/^store:/i.test(value)) return [];
    try {
      const ref = parseStoreRef(value, { prefix: true });
      if (!allowed.has(ref.store)) {
        const names = [...allowed].sort();
        return [
          {
            field: path,
            reason: `unknown store '${ref.store}': ${names.length ? `this tenant may use ${names.join(", ")}` : "this tenant has no stores"}`,
          },
        ];
      }
      return [];
    } catch (err) {
      if (err instanceof StoreRefError) return [{ field: path, reason: err.reason }];
      throw err;
    }
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => compositionBoundaryErrors(v, allowed, `${path}/${i}`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      compositionBoundaryErrors(v, allowed, `${path}/${pointerToken(k)}`),
    );
  }
  return [];
}

const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

function taskProgress(t: TaskSummary): number {
  return t.state === "succeeded" || t.state === "skipped" ? 1 : Math.max(0, Math.min(1, Number(t.progress) || 0));
}

function jobBase(j: JobRow, region: string) {
  return {
    id: j.id,
    region,
    state: j.state,
    priority: j.priority,
    labels: j.labels ?? {},
    engine: { name: j.engineName, version: j.engineVersion },
    resolvedEngine: j.engineResolvedVersion ? { name: j.engineName, version: j.engineResolvedVersion, image: j.engineImage } : null,
    factory: j.factory ? { name: j.factory, revision: j.factoryRevision ?? 0 } : null,
    outputs: j.outputs,
    error: j.error,
    createdAt: iso(j.createdAt)!,
    updatedAt: iso(j.updatedAt)!,
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
  };
}

export function jobView(j: JobRow, tasks: TaskSummary[], region: string) {
  const progress = tasks.length === 0 ? 0 : tasks.reduce((s, t) => s + taskProgress(t), 0) / tasks.length;
  return {
    ...jobBase(j, region),
    progress,
    composition: j.composition,
    tasks: tasks.map((t) => ({
      id: t.id,
      key: t.key,
      kind: t.kind,
      pool: t.pool,
      state: t.state,
      progress: taskProgress(t),
      progressDetail: t.progressDetail,
      attempts: t.attempt,
      failures: t.failures,
      maxAttempts: t.maxAttempts,
      optional: t.optional,
      dependsOn: t.dependsOn ?? [],
      coordinatorId: t.coordinatorId,
      result: t.result,
      error: t.error,
      startedAt: iso(t.startedAt),
      finishedAt: iso(t.finishedAt),
    })),
  };
}

function auditView(a: AuditRow) {
  return { id: a.id, at: iso(a.at)!, kind: a.kind, taskId: a.taskId, taskKey: a.taskKey, attempt: a.attempt, data: a.data };
}

function coordinatorView(c: CoordinatorWithLoad) {
  return {
    id: c.id,
    region: c.region,
    hostname: c.hostname,
    state: c.state,
    capacityType: c.capacityType,
    instanceType: c.instanceType,
    pools: c.pools ?? [],
    engines: (c.engines ?? []).map((e) => ({ name: e.name, version: e.version, encoders: e.encoders ?? [] })),
    capacity: { cpuMillis: c.cpuMillis, memoryMb: Number(c.memoryMb), gpus: c.gpus },
    used: { cpuMillis: c.usedCpuMillis, memoryMb: Number(c.usedMemoryMb), gpus: c.usedGpus },
    runningTasks: c.runningTasks,
    lastHeartbeat: iso(c.lastHeartbeat),
    joinedAt: iso(c.joinedAt)!,
    certNotAfter: iso(c.certNotAfter),
  };
}
