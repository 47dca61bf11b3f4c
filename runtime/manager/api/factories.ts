// /v1/factories: named templates (composition defaults plus a pinned engine)
// that jobs are submitted against. The pin never changes silently: only
// POST /v1/factories/:name/engine changes it, and that is audited.
import type { FastifyInstance } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import type { Json } from "../../engine/types.js";
import {
  deleteFactory,
  FactoryExistsError,
  getFactory,
  insertFactory,
  listFactories,
  updateFactoryTemplate,
  upgradeFactoryEngine,
  type Db,
  type FactoryRow,
} from "../store/index.js";
import { ApiProblem, type FieldProblem } from "./problems.js";
import { principalOf, type RoleGuard } from "./auth.js";
import type { CompositionValidator, CompositionLike } from "./types.js";
import { refuseRawImage, resolveOrRefuse } from "./engines.js";

/** The template's hardware choice, which decides which registered engines can serve the pin. */
function hardwareOf(template: unknown): "cpu" | "gpu" | "any" | undefined {
  const h = isObject(template) ? template.hardware : undefined;
  return h === "cpu" || h === "gpu" || h === "any" ? h : undefined;
}

const ProblemRef = { description: "RFC 9457 problem details", content: { "application/problem+json": { schema: { $ref: "Problem" } } } };
const errors = { 400: ProblemRef, 401: ProblemRef, 403: ProblemRef };

export const FACTORY_NAME_PATTERN = "^[a-z0-9][a-z0-9_-]{0,62}$";
const Name = Type.String({ pattern: FACTORY_NAME_PATTERN, description: "lower-case letters, digits, '_' and '-', at most 63" });
const Engine = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 32 }), version: Type.String({ pattern: "^[0-9]+(\\.[0-9]+){0,3}$" }) },
  { additionalProperties: false },
);
const Template = Type.Object(
  {},
  { additionalProperties: true, description: "composition defaults; jobs supply the rest (at least input and output)" },
);

const CreateBody = Type.Object(
  { name: Name, engine: Engine, template: Template, description: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  { template: Template, description: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
const UpgradeBody = Type.Object({ engine: Engine, reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
const Params = Type.Object({ name: Name });

const FactorySchema = Type.Object({
  name: Type.String(),
  engine: Type.Object({ name: Type.String(), version: Type.String() }),
  revision: Type.Integer(),
  description: Type.String(),
  template: Type.Unknown(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

function view(f: FactoryRow) {
  return {
    name: f.name,
    engine: { name: f.engineName, version: f.engineVersion },
    revision: f.revision,
    description: f.description,
    template: f.template,
    createdAt: new Date(f.createdAt).toISOString(),
    updatedAt: new Date(f.updatedAt).toISOString(),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Objects merge key by key; anything else (arrays included) in the job replaces the template's value. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

/**
 * A job's composition against a factory: the template's defaults under the
 * job's own values, and the factory's engine pin. A job may not name another
 * engine: upgrading is an explicit call on the factory.
 */
export function applyFactory(
  f: { name: string; template: Json; engineName: string; engineVersion: string },
  composition: unknown,
): { ok: true; value: unknown } | { ok: false; errors: FieldProblem[] } {
  const own = isObject(composition) ? composition : {};
  const pinned = { name: f.engineName, version: f.engineVersion };
  const asked = own.engine as { name?: unknown; version?: unknown } | undefined;
  if (asked !== undefined && (!isObject(asked) || asked.name !== pinned.name || asked.version !== pinned.version)) {
    return {
      ok: false,
      errors: [
        {
          field: "/composition/engine",
          reason: `factory ${f.name} pins ${pinned.name} ${pinned.version}; upgrading its engine is an explicit call (POST /v1/factories/${f.name}/engine)`,
        },
      ],
    };
  }
  const merged = deepMerge(f.template, own) as Record<string, unknown>;
  merged.engine = pinned;
  return { ok: true, value: merged };
}

/** Checks a template as a composition, with placeholder input and output where the template leaves them to jobs. */
function templateErrors(
  template: Record<string, unknown>,
  engine: { name: string; version: string },
  validate: CompositionValidator<CompositionLike>,
): FieldProblem[] {
  if ("engine" in template)
    return [{ field: "/template/engine", reason: "the engine is pinned by the factory's engine field, not the template" }];
  const probe = { input: { uri: "store://template/input" }, output: { uri: "store://template/output/" }, ...template, engine };
  const r = validate(probe);
  return r.ok ? [] : r.errors.map((e) => ({ field: `/template${e.field.startsWith("/") ? e.field : "/" + e.field}`, reason: e.reason }));
}

export function registerFactoryRoutes(
  app: FastifyInstance,
  deps: { db: Db; validateComposition: CompositionValidator<CompositionLike> },
  requireRole: (role: "viewer" | "submitter" | "operator" | "admin") => RoleGuard,
  security: { bearerAuth: string[] }[],
): void {
  const { db } = deps;
  const notFound = (name: string) => new ApiProblem("not-found", `no factory named ${name}`);

  app.post<{ Body: Static<typeof CreateBody> }>(
    "/v1/factories",
    {
      onRequest: requireRole("operator"),
      preValidation: refuseRawImage("/engine"),
      schema: {
        tags: ["factories"],
        summary: "Create a factory",
        security,
        body: CreateBody,
        response: { 201: FactorySchema, ...errors, 409: ProblemRef, 422: ProblemRef },
      },
    },
    async (req, reply) => {
      const { tenant } = principalOf(req);
      const errs = templateErrors(req.body.template, req.body.engine, deps.validateComposition);
      if (errs.length > 0)
        throw new ApiProblem("invalid-composition", `The template is not acceptable: ${errs[0]!.field}: ${errs[0]!.reason}`, errs);
      // a factory may pin only what this region has registered; each job records what the pin resolved to then
      await resolveOrRefuse(db, req.body.engine, hardwareOf(req.body.template), "/engine");
      try {
        const f = await insertFactory(db, {
          tenant,
          name: req.body.name,
          template: req.body.template as Json,
          engine: req.body.engine,
          description: req.body.description ?? "",
        });
        return reply.code(201).header("location", `/v1/factories/${f.name}`).send(view(f));
      } catch (err) {
        if (err instanceof FactoryExistsError)
          throw new ApiProblem("conflict", `factory ${req.body.name} already exists`, [{ field: "/name", reason: "already exists" }]);
        throw err;
      }
    },
  );

  app.get(
    "/v1/factories",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["factories"],
        summary: "List factories",
        security,
        response: { 200: Type.Object({ factories: Type.Array(FactorySchema) }), ...errors },
      },
    },
    async (req) => {
      return { factories: (await listFactories(db, principalOf(req).tenant)).map(view) };
    },
  );

  app.get<{ Params: Static<typeof Params> }>(
    "/v1/factories/:name",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["factories"],
        summary: "A factory",
        security,
        params: Params,
        response: { 200: FactorySchema, ...errors, 404: ProblemRef },
      },
    },
    async (req) => {
      const f = await getFactory(db, principalOf(req).tenant, req.params.name);
      if (!f) throw notFound(req.params.name);
      return view(f);
    },
  );

  app.put<{ Params: Static<typeof Params>; Body: Static<typeof UpdateBody> }>(
    "/v1/factories/:name",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["factories"],
        summary: "Replace a factory's template (its engine pin stays)",
        security,
        params: Params,
        body: UpdateBody,
        response: { 200: FactorySchema, ...errors, 404: ProblemRef, 422: ProblemRef },
      },
    },
    async (req) => {
      const { tenant } = principalOf(req);
      const cur = await getFactory(db, tenant, req.params.name);
      if (!cur) throw notFound(req.params.name);
      const errs = templateErrors(req.body.template, { name: cur.engineName, version: cur.engineVersion }, deps.validateComposition);
      if (errs.length > 0)
        throw new ApiProblem("invalid-composition", `The template is not acceptable: ${errs[0]!.field}: ${errs[0]!.reason}`, errs);
      const f = await updateFactoryTemplate(
        db,
        tenant,
        req.params.name,
        req.body.template as Json,
        req.body.description ?? cur.description,
      );
      if (!f) throw notFound(req.params.name);
      return view(f);
    },
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof UpgradeBody> }>(
    "/v1/factories/:name/engine",
    {
      onRequest: requireRole("operator"),
      preValidation: refuseRawImage("/engine"),
      schema: {
        tags: ["factories"],
        summary: "Change a factory's engine pin (explicit and audited)",
        security,
        params: Params,
        body: UpgradeBody,
        response: { 200: FactorySchema, ...errors, 404: ProblemRef, 422: ProblemRef },
      },
    },
    async (req) => {
      const { tenant } = principalOf(req);
      const cur = await getFactory(db, tenant, req.params.name);
      if (!cur) throw notFound(req.params.name);
      const errs = templateErrors(cur.template as Record<string, unknown>, req.body.engine, deps.validateComposition);
      if (errs.length > 0)
        throw new ApiProblem(
          "invalid-composition",
          `The template does not work with that engine: ${errs[0]!.reason}`,
          errs.map((e) => ({ ...e, field: e.field === "/template/engine" ? "/engine" : e.field })),
        );
      await resolveOrRefuse(db, req.body.engine, hardwareOf(cur.template), "/engine");
      const r = await upgradeFactoryEngine(db, tenant, req.params.name, req.body.engine, req.body.reason);
      if (!r) throw notFound(req.params.name);
      return view(r.after);
    },
  );

  app.delete<{ Params: Static<typeof Params> }>(
    "/v1/factories/:name",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["factories"],
        summary: "Delete a factory (jobs keep what they recorded)",
        security,
        params: Params,
        response: { 204: Type.Null(), ...errors, 404: ProblemRef },
      },
    },
    async (req, reply) => {
      if (!(await deleteFactory(db, principalOf(req).tenant, req.params.name))) throw notFound(req.params.name);
      return reply.code(204).send();
    },
  );
}
