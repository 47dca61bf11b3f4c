// The manager's REST API (fastify). Routes are declared with TypeBox schemas: ajv
// validates requests against them, fast-json-stringify serialises responses with
// them, and @fastify/swagger publishes them as OpenAPI 3.1 at /openapi.json (with a
// browsable page at /docs). Every rejection is an RFC 9457 problem (problems.ts).

import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { Ajv, type Options as AjvOptions } from "ajv";
import type { TSchema } from "@sinclair/typebox";
import type { Role } from "../store/index.js";
import { httpRequestDuration, registry } from "../metrics.js";
import { ping } from "../store/api-queries.js";
import { authenticate, authorize, setPrincipal, type RoleGuard } from "./auth.js";
import type { ApiDeps, CompositionLike, CompositionValidator } from "./types.js";
import { ApiProblem, problemFromFastifyError, sendProblem, type FieldProblem } from "./problems.js";
import { ProblemSchema, JobSchema, HealthSchema } from "./schemas.js";
import { registerJobRoutes } from "./jobs.js";
import { registerFactoryRoutes } from "./factories.js";
import { registerUsageRoutes } from "./usage.js";
import { registerStoreRoutes } from "./stores.js";
import { registerWatchNotifyRoutes } from "./watch-notify.js";
import { registerEngineRoutes } from "./engines.js";

export type { ApiDeps, CompositionLike, CompositionValidator, FieldError, RunningAttempt } from "./types.js";

export const DEFAULT_REST_PORT = 8080;
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const BEARER = [{ bearerAuth: [] as string[] }];

export async function buildApi<C extends CompositionLike>(deps: ApiDeps<C>): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    return503OnClosing: true,
    // a client gets 30 s to send its request (slow-loris bodies are cut off)
    requestTimeout: 30_000,
    // a job id is at most 36 characters; a long URL is an attack, not a request
    routerOptions: { maxParamLength: 200 },
  });

  // Bodies are validated strictly (no type coercion, unknown fields are errors, not
  // silently removed); path, query and header values are strings on the wire and are
  // coerced to the declared types. The documented fastify recipe for per-part ajv.
  const common: AjvOptions = {
    allErrors: true,
    removeAdditional: false,
    useDefaults: true,
    strictSchema: true,
    strictTypes: false,
    strictTuples: false,
  };
  const compilers: Record<string, Ajv> = {
    body: new Ajv({ ...common, coerceTypes: false }),
    params: new Ajv({ ...common, coerceTypes: true }),
    querystring: new Ajv({ ...common, coerceTypes: true }),
    headers: new Ajv({ ...common, coerceTypes: true }),
  };
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart ? compilers[httpPart] : undefined;
    if (!ajv) throw new Error(`no validator for ${httpPart}`);
    return ajv.compile(schema);
  });

  // JSON only: text/plain (fastify's other default) is refused with 415
  app.removeContentTypeParser("text/plain");

  app.addSchema(ProblemSchema);
  app.addSchema(JobSchema);

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "framefleet manager API",
        version: "1",
        description:
          "Submit and follow FFmpeg transcoding jobs. Authenticate with `Authorization: Bearer ffk_...`. " +
          "Every error is an RFC 9457 problem (application/problem+json) naming the offending field.",
      },
      servers: [{ url: "/", description: `region ${deps.region}` }],
      components: {
        securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "an API key, ffk_..." } },
      },
      tags: [
        { name: "jobs", description: "submit, follow and cancel jobs" },
        { name: "fleet", description: "coordinators (operator role)" },
        { name: "system", description: "health, readiness and metrics (no authentication)" },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
    transformObject: (documentObject) => {
      const doc = ("openapiObject" in documentObject ? documentObject.openapiObject : documentObject.swaggerObject) as Record<
        string,
        unknown
      >;
      if (deps.compositionSchema) publishComposition(doc, deps.compositionSchema);
      return doc as never;
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { docExpansion: "list", deepLinking: true } });

  app.setErrorHandler((err, req, reply) => {
    const p = problemFromFastifyError(err as never);
    if (p.kind === "internal") req.log.error({ err }, "request failed");
    return sendProblem(req, reply, p);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0] ?? req.url;
    return sendProblem(req, reply, new ApiProblem("not-found", `No route ${req.method} ${path.slice(0, 200)}`));
  });

  app.addHook("onResponse", async (req, reply) => {
    httpRequestDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const requireRole =
    (role: Role): RoleGuard =>
    async (req) => {
      const p = await authenticate(deps.db, req.headers.authorization);
      authorize(p, role);
      setPrincipal(req, p);
    };

  registerJobRoutes(app, deps, requireRole, BEARER);
  registerFactoryRoutes(
    app,
    { db: deps.db, validateComposition: deps.validateComposition as unknown as CompositionValidator<CompositionLike> },
    requireRole,
    BEARER,
  );
  registerUsageRoutes(app, deps.db, requireRole, BEARER);
  registerEngineRoutes(app, { db: deps.db }, requireRole, BEARER);
  if (deps.storeRegistry) registerStoreRoutes(app, { db: deps.db, storesFor: deps.storesFor, ...deps.storeRegistry }, requireRole, BEARER);
  if (deps.watchNotify) registerWatchNotifyRoutes(app, { db: deps.db, ...deps.watchNotify }, requireRole, BEARER);

  app.get(
    "/healthz",
    {
      schema: { tags: ["system"], summary: "The process is up", response: { 200: HealthSchema } },
    },
    async () => ({ status: "ok", region: deps.region }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["system"],
        summary: "The database is reachable and the manager's services are up",
        response: {
          200: HealthSchema,
          503: { description: "not ready", content: { "application/problem+json": { schema: { $ref: "Problem" } } } },
        },
      },
    },
    async (req, reply) => {
      const problems: FieldProblem[] = [];
      const dbOk = await withTimeout(ping(deps.db), 2000).then(
        () => true,
        () => false,
      );
      if (!dbOk) problems.push({ field: "database", reason: "PostgreSQL is not reachable" });
      if (deps.isReady) {
        const ok = await withTimeout(deps.isReady(), 2000).catch(() => false);
        if (!ok) problems.push({ field: "services", reason: "the manager's services are not up yet" });
      }
      if (problems.length > 0) {
        return sendProblem(req, reply, new ApiProblem("unavailable", "Not ready: " + problems.map((p) => p.reason).join("; "), problems));
      }
      return { status: "ready", region: deps.region };
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        tags: ["system"],
        summary: "Prometheus metrics (text exposition format); no tenant data, no authentication",
        produces: ["text/plain"],
      },
    },
    async (_req, reply: FastifyReply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    },
  );

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  return app;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Puts the engine's composition schema into the document and points the submit body at it. */
function publishComposition(doc: Record<string, unknown>, schema: TSchema): void {
  const components = (doc.components ??= {}) as Record<string, unknown>;
  const schemas = (components.schemas ??= {}) as Record<string, unknown>;
  const { $id: _id, ...plain } = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  schemas.Composition = plain;
  const paths = doc.paths as
    | Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }>>
    | undefined;
  const props = paths?.["/v1/jobs"]?.post?.requestBody?.content?.["application/json"]?.schema?.properties;
  if (props?.composition) {
    props.composition = { $ref: "#/components/schemas/Composition" };
  }
}
