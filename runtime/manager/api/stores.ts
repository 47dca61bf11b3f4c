// /v1/stores and /v1/watch-folders: a tenant's object stores and watch folders.
// Scoped by the caller's tenant (another tenant's store is a 404). Writing needs
// operator or admin. A store names its credentials by reference (env var names, or
// the cloud's default chain); the API stores and returns the reference, never a secret.
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import type { Json } from "../../engine/types.js";
import { STORE_NAME_RE, StoreRefError, validateKey } from "../../storage/keys.js";
import {
  deleteStoreRow,
  deleteWatchFolder,
  getStoreRow,
  insertStore,
  insertWatchFolder,
  jobsUsingStore,
  listStoreRows,
  listWatchFolders,
  StoreExistsError,
  type Db,
  type StoreRow,
  type WatchFolderRow,
} from "../store/index.js";
import { azureCredentialProblem } from "../../storage/azure.js";
import { ApiProblem } from "./problems.js";
import { principalOf, type RoleGuard } from "./auth.js";

const ProblemRef = { description: "RFC 9457 problem details", content: { "application/problem+json": { schema: { $ref: "Problem" } } } };
const errors = { 400: ProblemRef, 401: ProblemRef, 403: ProblemRef };

const Name = Type.String({ pattern: STORE_NAME_RE.source, description: "lowercase letters, digits, '_' and '-', at most 63" });
/** an environment variable name on the manager */
const EnvVar = Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,127}$" });
const Credentials = Type.Union(
  [
    Type.Object({ source: Type.Literal("default") }, { additionalProperties: false }),
    Type.Object(
      {
        source: Type.Literal("env"),
        vars: Type.Record(Type.String({ pattern: "^[A-Za-z][A-Za-z0-9_]{0,63}$" }), EnvVar, { maxProperties: 8 }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "where the manager finds the secret: never the secret itself" },
);

const StoreBody = Type.Object(
  {
    name: Name,
    kind: Type.Union([Type.Literal("s3"), Type.Literal("gcs"), Type.Literal("azure")]),
    bucket: Type.String({
      minLength: 3,
      maxLength: 222,
      pattern: "^[a-z0-9][a-z0-9._-]*[a-z0-9]$",
      description: "bucket (S3, GCS) or container (Azure)",
    }),
    prefix: Type.Optional(Type.String({ maxLength: 512 })),
    region: Type.Optional(Type.String({ maxLength: 64, pattern: "^[a-z0-9-]+$" })),
    endpoint: Type.Optional(Type.String({ maxLength: 512, pattern: "^https?://[^\\s?#]+$" })),
    credentials: Type.Optional(Credentials),
    role: Type.Optional(Type.Union([Type.Literal("input"), Type.Literal("intermediate"), Type.Literal("output")])),
    applyRole: Type.Optional(
      Type.Boolean({
        description:
          "S3 only: set the role's versioning and lifecycle on the bucket now (versioning is only ever enabled; framefleet's lifecycle rules are merged with the bucket's own)",
      }),
    ),
  },
  { additionalProperties: false },
);
type StoreBody = Static<typeof StoreBody>;

const StoreView = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  bucket: Type.String(),
  prefix: Type.String(),
  region: Type.Union([Type.String(), Type.Null()]),
  endpoint: Type.Union([Type.String(), Type.Null()]),
  credentials: Type.Object({ source: Type.String(), vars: Type.Optional(Type.Record(Type.String(), Type.String())) }),
  role: Type.String(),
  builtin: Type.Boolean(),
  createdAt: Type.Union([Type.String(), Type.Null()]),
  /** what applyRole did: applied, unchanged, or unsupported by the server */
  roleApplied: Type.Optional(Type.Object({ versioning: Type.String(), lifecycle: Type.String() })),
});

const WatchBody = Type.Object(
  {
    name: Name,
    /** where new objects land: store://<store>/<prefix>/ */
    input: Type.String({ maxLength: 1100, pattern: "^store://" }),
    /** where each job writes: store://<store>/<prefix>/; the object's name (without extension) is appended */
    output: Type.String({ maxLength: 1100, pattern: "^store://" }),
    /** a composition without input/output (they are filled per object) */
    template: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
type WatchBody = Static<typeof WatchBody>;

const WatchView = Type.Object({
  name: Type.String(),
  store: Type.String(),
  prefix: Type.String(),
  outputPrefix: Type.String(),
  enabled: Type.Boolean(),
  createdAt: Type.String(),
  lastPolledAt: Type.Union([Type.String(), Type.Null()]),
});

export interface StoreRouteDeps {
  db: Db;
  /** names of the shared (configured) stores, e.g. "local": always available, not registrable */
  builtinStores(): Record<string, { kind: string }>;
  /** the tenant's store names (shared + registered) */
  storesFor(tenant: string): string[] | Promise<string[]>;
  /** the watch folder's template must validate as a composition once filled in */
  validateTemplate?(template: Json, input: string, output: string): { field: string; reason: string }[];
  /** sets a bucket role's versioning and lifecycle on an S3 bucket with the manager's credentials */
  applyRole?(
    name: string,
    def: import("../../storage/definitions.js").CloudDefinition,
    role: "input" | "intermediate" | "output",
  ): Promise<{ versioning: string; lifecycle: string }>;
}

function storeView(r: StoreRow): Static<typeof StoreView> {
  return {
    name: r.name,
    kind: r.kind,
    bucket: r.bucket,
    prefix: r.prefix,
    region: r.region,
    endpoint: r.endpoint,
    credentials: r.credentials.source === "env" ? { source: "env", vars: r.credentials.vars } : { source: "default" },
    role: r.role,
    builtin: false,
    createdAt: r.createdAt.toISOString(),
  };
}

function watchView(w: WatchFolderRow): Static<typeof WatchView> {
  return {
    name: w.name,
    store: w.store,
    prefix: w.prefix,
    outputPrefix: w.outputPrefix,
    enabled: w.enabled,
    createdAt: w.createdAt.toISOString(),
    lastPolledAt: w.lastPolledAt ? w.lastPolledAt.toISOString() : null,
  };
}

function storeRefPrefix(uri: string, field: string, names: Set<string>): { store: string; prefix: string } {
  const m = /^store:\/\/([^/]*)\/(.*)$/.exec(uri);
  if (!m)
    throw new ApiProblem("invalid-request", "Expected store://<store>/<prefix>/", [
      { field, reason: "expected store://<store>/<prefix>/" },
    ]);
  const [, store, prefix] = m as unknown as [string, string, string];
  if (!names.has(store))
    throw new ApiProblem("invalid-request", `Unknown store ${store}`, [
      { field, reason: `unknown store '${store.slice(0, 64)}' for this tenant` },
    ]);
  try {
    validateKey(prefix.endsWith("/") ? prefix : prefix + "/", { prefix: true });
  } catch (e) {
    throw new ApiProblem("invalid-request", "The prefix is not acceptable", [{ field, reason: (e as StoreRefError).reason }]);
  }
  return { store, prefix: prefix.endsWith("/") ? prefix : prefix + "/" };
}

export function registerStoreRoutes(
  app: FastifyInstance,
  deps: StoreRouteDeps,
  requireRole: (role: "viewer" | "submitter" | "operator" | "admin") => RoleGuard,
  security: { bearerAuth: string[] }[],
): void {
  const { db } = deps;
  const NameParams = Type.Object({ name: Type.String({ maxLength: 200 }) });

  app.post<{ Body: StoreBody }>(
    "/v1/stores",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["stores"],
        summary: "Register an object store for this tenant",
        security,
        body: StoreBody,
        description:
          "S3 (or S3-compatible with `endpoint`), GCS or Azure Blob. `credentials` names environment variables of the manager (or `default` for the cloud's identity chain); secrets are never sent to or returned by the API.",
        response: { 201: StoreView, ...errors, 409: ProblemRef },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      if (b.name in deps.builtinStores())
        throw new ApiProblem("conflict", `Store name ${b.name} is reserved`, [
          { field: "/name", reason: "a built-in store has this name" },
        ]);
      let prefix = b.prefix ?? "";
      if (prefix !== "") {
        try {
          validateKey(prefix, { prefix: true });
        } catch (e) {
          throw new ApiProblem("invalid-request", "The prefix is not acceptable", [
            { field: "/prefix", reason: (e as StoreRefError).reason },
          ]);
        }
        if (!prefix.endsWith("/")) prefix += "/";
      }
      const credentials = b.credentials ?? { source: "default" as const };
      if (credentials.source === "env" && b.kind === "azure") {
        const problem = azureCredentialProblem(Object.keys(credentials.vars));
        if (problem)
          throw new ApiProblem("invalid-request", "Credentials are incomplete", [
            { field: `/credentials/vars/${problem.field}`, reason: problem.reason },
          ]);
      }
      if (b.kind === "azure" && !b.endpoint && !(credentials.source === "env" && "accountName" in credentials.vars))
        throw new ApiProblem("invalid-request", "The storage account is not named", [
          { field: "/endpoint", reason: "name the account: https://<account>.blob.core.windows.net" },
        ]);
      if (credentials.source === "env" && b.kind !== "azure") {
        const need = { s3: ["accessKeyId", "secretAccessKey"], gcs: ["client_email", "private_key"] }[b.kind];
        const missing = need.filter((f) => !(f in credentials.vars));
        if (missing.length)
          throw new ApiProblem(
            "invalid-request",
            "Credentials are incomplete",
            missing.map((f) => ({ field: `/credentials/vars/${f}`, reason: `name the environment variable that holds ${f}` })),
          );
      }
      let roleApplied: { versioning: string; lifecycle: string } | undefined;
      if (b.applyRole) {
        if (b.kind !== "s3" || !deps.applyRole)
          throw new ApiProblem("invalid-request", "Bucket roles are applied to S3 buckets only", [
            { field: "/applyRole", reason: "GCS and Azure buckets take their role from the buckets component (components/buckets)" },
          ]);
        if (await getStoreRow(db, p.tenant, b.name))
          throw new ApiProblem("conflict", `Store ${b.name} already exists`, [{ field: "/name", reason: "already exists" }]);
        try {
          roleApplied = await deps.applyRole(
            b.name,
            { kind: "s3", bucket: b.bucket, prefix, region: b.region, endpoint: b.endpoint, credentials },
            b.role ?? "output",
          );
        } catch (e) {
          // nothing is registered: a store whose bucket cannot be reached or configured would fail every job
          throw new ApiProblem("invalid-request", "The bucket role could not be applied", [
            { field: "/applyRole", reason: `${(e as Error).name}: ${(e as Error).message}`.slice(0, 300) },
          ]);
        }
      }
      try {
        const row = await insertStore(db, {
          tenant: p.tenant,
          name: b.name,
          kind: b.kind,
          bucket: b.bucket,
          prefix,
          region: b.region ?? null,
          endpoint: b.endpoint ?? null,
          credentials,
          role: b.role ?? "output",
        });
        return reply
          .code(201)
          .header("location", `/v1/stores/${row.name}`)
          .send({ ...storeView(row), ...(roleApplied ? { roleApplied } : {}) });
      } catch (e) {
        if (e instanceof StoreExistsError)
          throw new ApiProblem("conflict", `Store ${b.name} already exists`, [{ field: "/name", reason: "already exists" }]);
        throw e;
      }
    },
  );

  app.get(
    "/v1/stores",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["stores"],
        summary: "This tenant's stores (built-in and registered)",
        security,
        response: { 200: Type.Object({ stores: Type.Array(StoreView) }), ...errors },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const builtin = Object.entries(deps.builtinStores()).map(([name, d]) => ({
        name,
        kind: d.kind,
        bucket: "",
        prefix: "",
        region: null,
        endpoint: null,
        credentials: { source: "default" },
        role: "output",
        builtin: true,
        createdAt: null,
      }));
      return { stores: [...builtin, ...(await listStoreRows(db, p.tenant)).map(storeView)] };
    },
  );

  app.get<{ Params: Static<typeof NameParams> }>(
    "/v1/stores/:name",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["stores"],
        summary: "One store",
        security,
        params: NameParams,
        response: { 200: StoreView, ...errors, 404: ProblemRef },
      },
    },
    async (req) => {
      const p = principalOf(req);
      const row = STORE_NAME_RE.test(req.params.name) ? await getStoreRow(db, p.tenant, req.params.name) : undefined;
      if (!row) throw new ApiProblem("not-found", `No store ${req.params.name.slice(0, 64)}`);
      return storeView(row);
    },
  );

  app.delete<{ Params: Static<typeof NameParams> }>(
    "/v1/stores/:name",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["stores"],
        summary: "Remove a registered store (not one in use by an unfinished job)",
        security,
        params: NameParams,
        response: { 204: Type.Null(), ...errors, 404: ProblemRef, 409: ProblemRef },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const name = req.params.name;
      if (!STORE_NAME_RE.test(name)) throw new ApiProblem("not-found", `No store ${name.slice(0, 64)}`);
      if (name in deps.builtinStores())
        throw new ApiProblem("conflict", `Store ${name} is built in`, [{ field: "/name", reason: "built-in stores cannot be removed" }]);
      const using = await jobsUsingStore(db, p.tenant, name);
      if (using > 0)
        throw new ApiProblem("conflict", `Store ${name} is used by ${using} unfinished job(s)`, [{ field: "/name", reason: "in use" }]);
      if (!(await deleteStoreRow(db, p.tenant, name))) throw new ApiProblem("not-found", `No store ${name}`);
      return reply.code(204).send();
    },
  );

  // ---------------------------------------------------------------- watch folders

  app.post<{ Body: WatchBody }>(
    "/v1/watch-folders",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["stores"],
        summary: "Start a job for every new object under a prefix",
        security,
        body: WatchBody,
        description:
          "Polled by the manager (every region); where the cloud offers bucket notifications (S3 EventBridge/SQS, GCS Pub/Sub, Azure Event Grid) they can feed the same claim path.",
        response: { 201: WatchView, ...errors, 409: ProblemRef },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const b = req.body;
      const names = new Set(await deps.storesFor(p.tenant));
      const input = storeRefPrefix(b.input, "/input", names);
      const output = storeRefPrefix(b.output, "/output", names);
      if (output.store === input.store && output.prefix.startsWith(input.prefix)) {
        throw new ApiProblem("invalid-request", "The output may not be inside the watched prefix", [
          { field: "/output", reason: "outputs under the watched prefix would start jobs of their own" },
        ]);
      }
      const problems =
        deps.validateTemplate?.(
          b.template as Json,
          `store://${input.store}/${input.prefix}example.mp4`,
          `store://${output.store}/${output.prefix}example/`,
        ) ?? [];
      if (problems.length)
        throw new ApiProblem(
          "invalid-composition",
          "The template is not a valid composition",
          problems.map((e) => ({ field: `/template${e.field}`, reason: e.reason })),
        );
      try {
        const row = await insertWatchFolder(db, {
          tenant: p.tenant,
          name: b.name,
          store: input.store,
          prefix: input.prefix,
          template: b.template as Json,
          outputPrefix: `store://${output.store}/${output.prefix}`,
        });
        return reply.code(201).send(watchView(row));
      } catch (e) {
        if (e instanceof StoreExistsError)
          throw new ApiProblem("conflict", `Watch folder ${b.name} already exists`, [{ field: "/name", reason: "already exists" }]);
        throw e;
      }
    },
  );

  app.get(
    "/v1/watch-folders",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["stores"],
        summary: "This tenant's watch folders",
        security,
        response: { 200: Type.Object({ watchFolders: Type.Array(WatchView) }), ...errors },
      },
    },
    async (req) => ({ watchFolders: (await listWatchFolders(db, principalOf(req).tenant)).map(watchView) }),
  );

  app.delete<{ Params: Static<typeof NameParams> }>(
    "/v1/watch-folders/:name",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["stores"],
        summary: "Stop watching",
        security,
        params: NameParams,
        response: { 204: Type.Null(), ...errors, 404: ProblemRef },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      if (!STORE_NAME_RE.test(req.params.name) || !(await deleteWatchFolder(db, p.tenant, req.params.name)))
        throw new ApiProblem("not-found", "No such watch folder");
      return reply.code(204).send();
    },
  );
}
