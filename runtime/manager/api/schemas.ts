// TypeBox schemas of the REST API: fastify validates requests with them (ajv),
// serialises responses with them (fast-json-stringify, which also drops anything
// not declared, so a row never leaks a column by accident) and @fastify/swagger
// turns them into the OpenAPI document.

import { Type, type Static, type TSchema } from "@sinclair/typebox";

export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
export const LABEL_KEY_PATTERN = "^[a-z0-9_.-]{1,63}$";
/** 1 to 255 printable ASCII characters (space to tilde) */
export const IDEMPOTENCY_KEY_PATTERN = "^[\\x20-\\x7e]{1,255}$";

export const JOB_STATES = ["queued", "running", "succeeded", "partial", "failed", "cancelled"] as const;

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Timestamp = Type.String({ description: "RFC 3339 timestamp (UTC)" });

export const FieldProblemSchema = Type.Object(
  {
    field: Type.String({
      description:
        "Where: a JSON pointer into the request body (e.g. /composition/video/renditions/0/height), or header/<Name>, query/<name>, path/<name>",
    }),
    reason: Type.String(),
  },
  { additionalProperties: false },
);

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: "problem type URI (urn:framefleet:problem:<kind>)" }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: "the request path" }),
    requestId: Type.String({ description: "the server's id for this request, as it appears in the logs" }),
    errors: Type.Array(FieldProblemSchema),
  },
  { $id: "Problem", title: "Problem (RFC 9457)", description: "Served as application/problem+json" },
);
export const ProblemRef = Type.Ref("Problem");

export const LabelsSchema = Type.Record(Type.String({ pattern: LABEL_KEY_PATTERN }), Type.String({ maxLength: 256 }), {
  additionalProperties: false,
  maxProperties: 32,
  description: "at most 32 labels; keys [a-z0-9_.-]{1,63}, values at most 256 characters",
});

export const SubmitBodySchema = Type.Object(
  {
    composition: Type.Object(
      {},
      {
        additionalProperties: true,
        description: "A composition (see the Composition schema); validated by the engine, errors point into it as /composition/...",
      },
    ),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 50, description: "higher runs first; default 50" })),
    labels: Type.Optional(LabelsSchema),
    factory: Type.Optional(
      Type.String({
        pattern: "^[a-z0-9][a-z0-9_-]{0,62}$",
        description: "submit against this factory: its template fills what the composition leaves out, and its engine pin applies",
      }),
    ),
  },
  { additionalProperties: false },
);
export type SubmitBody = Static<typeof SubmitBodySchema>;

export const SubmitHeadersSchema = Type.Object({
  "idempotency-key": Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description:
        "1 to 255 printable ASCII characters. A repeat with the same key and body returns the first job (200); the same key with another body is a 409.",
    }),
  ),
});

export const JobIdParamsSchema = Type.Object({
  id: Type.String({ pattern: UUID_PATTERN, description: "job id (a UUID)" }),
});

export const ListJobsQuerySchema = Type.Object(
  {
    state: Type.Optional(Type.Union(JOB_STATES.map((s) => Type.Literal(s)))),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: "nextCursor of the previous page" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  },
  { additionalProperties: false },
);
export type ListJobsQuery = Static<typeof ListJobsQuerySchema>;

export const AuditQuerySchema = Type.Object(
  {
    after: Type.Optional(
      Type.Integer({ minimum: 0, description: "return records with an id above this (nextAfter of the previous page)" }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuerySchema>;

export const TaskSchema = Type.Object({
  id: Type.String(),
  key: Type.String({ description: "unique within the job, e.g. probe, encode:720p, package" }),
  kind: Type.String(),
  pool: Type.String(),
  state: Type.String({ description: "blocked, ready, leased, running, succeeded, skipped, failed or cancelled" }),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  progressDetail: Nullable(Type.String()),
  attempts: Type.Integer({ description: "attempts started so far" }),
  failures: Type.Integer(),
  maxAttempts: Type.Integer(),
  optional: Type.Boolean(),
  dependsOn: Type.Array(Type.String(), { description: "keys of the tasks this one waits for" }),
  coordinatorId: Nullable(Type.String()),
  result: Type.Unknown(),
  error: Nullable(Type.String()),
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
});

const jobCommon = {
  id: Type.String(),
  region: Type.String(),
  state: Type.Union(JOB_STATES.map((s) => Type.Literal(s))),
  priority: Type.Integer(),
  labels: Type.Record(Type.String(), Type.String()),
  engine: Type.Object({ name: Type.String(), version: Type.String() }, { description: "the engine pin the composition named" }),
  resolvedEngine: Nullable(
    Type.Object(
      {
        name: Type.String(),
        version: Type.String({ description: "the exact registered version the pin resolved to" }),
        image: Nullable(Type.String({ description: "repo@sha256:...; null: the hosts' own binaries" })),
      },
      { description: "what the pin resolved to in the engine registry at submission; never changes afterwards" },
    ),
  ),
  factory: Nullable(
    Type.Object({ name: Type.String(), revision: Type.Integer() }, { description: "the factory revision the job was submitted against" }),
  ),
  outputs: Type.Unknown({ description: "what the job produced, once finished" }),
  error: Type.Unknown(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
};

export const JobSummarySchema = Type.Object({
  ...jobCommon,
  progress: Type.Number({ minimum: 0, maximum: 1, description: "mean of the tasks' progress" }),
});

export const JobSchema = Type.Object(
  {
    ...jobCommon,
    progress: Type.Number({ minimum: 0, maximum: 1, description: "mean of the tasks' progress" }),
    composition: Type.Unknown({ description: "the validated composition, with defaults filled in" }),
    tasks: Type.Array(TaskSchema),
  },
  { $id: "Job" },
);

export const JobPageSchema = Type.Object({
  jobs: Type.Array(JobSummarySchema),
  nextCursor: Nullable(Type.String({ description: "pass as ?cursor= for the next page; null on the last page" })),
});

export const CancelResponseSchema = Type.Object({
  job: Type.Ref("Job"),
  stoppedAttempts: Type.Integer({ description: "attempts that were running and are being told to stop" }),
});

export const AuditRecordSchema = Type.Object({
  id: Type.Integer(),
  at: Timestamp,
  kind: Type.String({ description: "e.g. job.submitted, task.attempt, ffmpeg.argv, output.sha256, job.succeeded" }),
  taskId: Nullable(Type.String()),
  taskKey: Nullable(Type.String()),
  attempt: Nullable(Type.Integer()),
  data: Type.Unknown(),
});

export const AuditPageSchema = Type.Object({
  jobId: Type.String(),
  records: Type.Array(AuditRecordSchema),
  nextAfter: Nullable(Type.Integer({ description: "pass as ?after= for the next page; null on the last page" })),
});

export const CoordinatorSchema = Type.Object({
  id: Type.String(),
  region: Type.String(),
  hostname: Type.String(),
  state: Type.String(),
  capacityType: Type.String(),
  instanceType: Type.String(),
  pools: Type.Array(Type.String()),
  engines: Type.Array(Type.Object({ name: Type.String(), version: Type.String(), encoders: Type.Array(Type.String()) })),
  capacity: Type.Object({ cpuMillis: Type.Integer(), memoryMb: Type.Integer(), gpus: Type.Integer() }),
  used: Type.Object({ cpuMillis: Type.Integer(), memoryMb: Type.Integer(), gpus: Type.Integer() }),
  runningTasks: Type.Integer(),
  lastHeartbeat: Nullable(Timestamp),
  joinedAt: Timestamp,
  certNotAfter: Nullable(Timestamp),
});

export const CoordinatorListSchema = Type.Object({ coordinators: Type.Array(CoordinatorSchema) });

export const HealthSchema = Type.Object({ status: Type.String(), region: Type.String() });
