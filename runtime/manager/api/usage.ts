// /v1/usage and /v1/jobs/:id/usage: what the caller's tenant used — output
// minutes by resolution tier, compute seconds by instance and capacity type —
// with the estimated cost at list prices, next to what the same outputs would
// have cost on a managed service (AWS Elemental MediaConvert list price).
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import { getJob, type Db } from "../store/index.js";
import { computeUsage, outputUsage, type ComputeUsageRow, type OutputUsageRow } from "../store/usage.js";
import { managedServiceCost, pricePerHour, tierOf, type ResolutionTier } from "../autoscaler/pricing.js";
import { ApiProblem } from "./problems.js";
import { JobIdParamsSchema } from "./schemas.js";
import { principalOf, type RoleGuard } from "./auth.js";

const ProblemRef = { description: "RFC 9457 problem details", content: { "application/problem+json": { schema: { $ref: "Problem" } } } };
const authErrors = { 400: ProblemRef, 401: ProblemRef, 403: ProblemRef };
const MAX_WINDOW_MS = 366 * 24 * 3600 * 1000;

const Minutes = Type.Object({ SD: Type.Number(), HD: Type.Number(), UHD: Type.Number() });
const ComputeLine = Type.Object({
  instanceType: Type.String(),
  capacityType: Type.String(),
  taskSeconds: Type.Number({ description: "wall seconds of task attempts" }),
  hostSeconds: Type.Number({ description: "wall seconds times each attempt's share of its host" }),
  costUsd: Type.Number({ description: "hostSeconds at the instance's list price for its capacity type" }),
});
const UsageFigures = Type.Object({
  computeCostUsd: Type.Number(),
  outputMinutes: Minutes,
  managedServiceCostUsd: Type.Number({ description: "the same output minutes at AWS Elemental MediaConvert list price" }),
  compute: Type.Array(ComputeLine),
});
const JobUsage = Type.Composite([Type.Object({ jobId: Type.String() }), UsageFigures]);
export const UsageSchema = Type.Object({
  tenant: Type.String(),
  from: Type.String({ description: "ISO 8601" }),
  to: Type.String({ description: "ISO 8601" }),
  currency: Type.Literal("USD"),
  totals: UsageFigures,
  jobs: Type.Array(JobUsage),
});
const UsageQuerySchema = Type.Object(
  {
    from: Type.Optional(
      Type.String({ description: "start of the window (ISO 8601), jobs created at or after it; default 30 days before `to`" }),
    ),
    to: Type.Optional(Type.String({ description: "end of the window (ISO 8601), exclusive; default now" })),
  },
  { additionalProperties: false },
);
type UsageQuery = Static<typeof UsageQuerySchema>;

type Figures = Static<typeof UsageFigures>;

function figures(compute: ComputeUsageRow[], outputs: OutputUsageRow[]): Figures {
  const byType = new Map<string, Static<typeof ComputeLine>>();
  for (const c of compute) {
    const k = `${c.instanceType}\u0000${c.capacityType}`;
    const line = byType.get(k) ?? {
      instanceType: c.instanceType,
      capacityType: c.capacityType,
      taskSeconds: 0,
      hostSeconds: 0,
      costUsd: 0,
    };
    line.taskSeconds += c.taskSeconds ?? 0;
    line.hostSeconds += c.hostSeconds ?? 0;
    line.costUsd = (line.hostSeconds * pricePerHour(c.instanceType, c.capacityType)) / 3600;
    byType.set(k, line);
  }
  const minutes: Record<ResolutionTier, number> = { SD: 0, HD: 0, UHD: 0 };
  for (const o of outputs) minutes[tierOf(o.height)] += o.minutes ?? 0;
  const lines = [...byType.values()].map((l) => ({
    ...l,
    taskSeconds: round(l.taskSeconds, 3),
    hostSeconds: round(l.hostSeconds, 3),
    costUsd: round(l.costUsd, 6),
  }));
  return {
    computeCostUsd: round(
      lines.reduce((s, l) => s + l.costUsd, 0),
      6,
    ),
    outputMinutes: { SD: round(minutes.SD, 3), HD: round(minutes.HD, 3), UHD: round(minutes.UHD, 3) },
    managedServiceCostUsd: round(managedServiceCost(minutes), 6),
    compute: lines,
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function parseWindow(q: UsageQuery): { from: Date; to: Date } {
  const to = q.to === undefined ? new Date() : new Date(q.to);
  if (Number.isNaN(to.getTime()))
    throw new ApiProblem("invalid-request", "`to` is not a date-time", [{ field: "query/to", reason: "must be an ISO 8601 date-time" }]);
  const from = q.from === undefined ? new Date(to.getTime() - 30 * 24 * 3600 * 1000) : new Date(q.from);
  if (Number.isNaN(from.getTime()))
    throw new ApiProblem("invalid-request", "`from` is not a date-time", [
      { field: "query/from", reason: "must be an ISO 8601 date-time" },
    ]);
  if (from >= to)
    throw new ApiProblem("invalid-request", "`from` must be before `to`", [{ field: "query/from", reason: "must be before to" }]);
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS)
    throw new ApiProblem("invalid-request", "the window may span at most 366 days", [
      { field: "query/from", reason: "window longer than 366 days" },
    ]);
  return { from, to };
}

export function registerUsageRoutes(
  app: FastifyInstance,
  db: Db,
  requireRole: (role: "viewer") => RoleGuard,
  security: { bearerAuth: string[] }[],
): void {
  app.get<{ Querystring: UsageQuery }>(
    "/v1/usage",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["usage"],
        summary: "Usage and estimated cost of the caller's tenant",
        description:
          "Jobs created in [from, to): output minutes by resolution tier, compute seconds by instance and capacity type, " +
          "their estimated cost at list prices, and what the same outputs would cost at AWS Elemental MediaConvert list price.",
        security,
        querystring: UsageQuerySchema,
        response: { 200: UsageSchema, ...authErrors },
      },
    },
    async (req) => {
      const { tenant } = principalOf(req);
      const { from, to } = parseWindow(req.query);
      const [compute, outputs] = await Promise.all([computeUsage(db, { from, to, tenant }), outputUsage(db, { from, to, tenant })]);
      const jobIds = [...new Set([...compute.map((c) => c.jobId), ...outputs.map((o) => o.jobId)])].sort();
      return {
        tenant,
        from: from.toISOString(),
        to: to.toISOString(),
        currency: "USD" as const,
        totals: figures(compute, outputs),
        jobs: jobIds.map((jobId) => ({
          jobId,
          ...figures(
            compute.filter((c) => c.jobId === jobId),
            outputs.filter((o) => o.jobId === jobId),
          ),
        })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id/usage",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["usage"],
        summary: "What one job used and cost, and what it would have cost on a managed service",
        security,
        params: JobIdParamsSchema,
        response: { 200: JobUsage, ...authErrors, 404: ProblemRef },
      },
    },
    async (req) => {
      const { tenant } = principalOf(req);
      if (!(await getJob(db, tenant, req.params.id))) throw new ApiProblem("not-found", `no job ${req.params.id}`);
      const window = { from: new Date(0), to: new Date(Date.now() + 60_000), tenant, jobId: req.params.id };
      const [compute, outputs] = await Promise.all([computeUsage(db, window), outputUsage(db, window)]);
      return { jobId: req.params.id, ...figures(compute, outputs) };
    },
  );
}
