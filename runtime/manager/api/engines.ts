// /v1/engines: the region's engine registry. Compositions and factories name a
// registered engine by name and version pin, never an image: images are
// registered here, pinned by digest, by an operator.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type, type Static } from "@sinclair/typebox";
import {
  EngineInputError,
  ENGINE_NAME_PATTERN,
  ENGINE_VERSION_PATTERN,
  engineImageProblem,
  listEngines,
  registerEngine,
  resolveEngine,
  type Db,
  type EngineHardware,
  type EngineRow,
} from "../store/index.js";
import { ApiProblem, type FieldProblem } from "./problems.js";
import { principalOf, type RoleGuard } from "./auth.js";

const ProblemRef = { description: "RFC 9457 problem details", content: { "application/problem+json": { schema: { $ref: "Problem" } } } };
const errors = { 400: ProblemRef, 401: ProblemRef, 403: ProblemRef };

const RegisterBody = Type.Object(
  {
    name: Type.String({ pattern: ENGINE_NAME_PATTERN, description: "e.g. ffmpeg" }),
    version: Type.String({ pattern: ENGINE_VERSION_PATTERN, description: "the full version the engine reports, e.g. 5.1.9" }),
    // the format is checked by the handler, so a tag gets a sentence rather than a regular expression
    image: Type.Union([Type.String({ minLength: 1, maxLength: 512 }), Type.Null()], {
      description: "repo@sha256:<64 hex digits> (pinned by digest, no tag), or null for the hosts' own binaries (process runner)",
    }),
    encoders: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 2000, default: [] })),
    hwaccels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100, default: [] })),
    hardware: Type.Optional(
      Type.Union([Type.Literal("cpu"), Type.Literal("gpu"), Type.Literal("any")], {
        default: "cpu",
        description: "the hardware the engine serves: cpu, gpu (NVENC/NVDEC builds) or any",
      }),
    ),
  },
  { additionalProperties: false },
);
type RegisterBody = Static<typeof RegisterBody>;

const ListQuery = Type.Object({ name: Type.Optional(Type.String({ pattern: ENGINE_NAME_PATTERN })) }, { additionalProperties: false });

export const EngineSchema = Type.Object({
  name: Type.String(),
  version: Type.String(),
  image: Type.Union([Type.String(), Type.Null()], { description: "repo@sha256:...; null: the hosts' own binaries" }),
  digest: Type.Union([Type.String(), Type.Null()], { description: "sha256:<hex>, the image's digest" }),
  encoders: Type.Array(Type.String()),
  hwaccels: Type.Array(Type.String()),
  hardware: Type.String(),
  registeredAt: Type.String(),
  registeredBy: Type.String(),
});

function view(e: EngineRow) {
  return {
    name: e.name,
    version: e.version,
    image: e.image,
    digest: e.digest,
    encoders: e.encoders,
    hwaccels: e.hwaccels,
    hardware: e.hardware,
    registeredAt: new Date(e.registeredAt).toISOString(),
    registeredBy: e.registeredBy,
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A composition or factory that tries to name an image instead of a registered
 * engine: an `image` field, or a version that reads as an image reference
 * (it has '@', '/' or ':'). Checked before the schema, which would only say
 * "unknown field" or "must match".
 */
export function rawImageErrors(engine: unknown, field: string): FieldProblem[] {
  if (!isObject(engine)) return [];
  const out: FieldProblem[] = [];
  const why = "engines are named by name and version from the region's engine registry (GET /v1/engines), never by image";
  for (const k of ["image", "digest"]) {
    if (k in engine) out.push({ field: `${field}/${k}`, reason: `a composition may not name an engine image: ${why}` });
  }
  if (typeof engine.version === "string" && /[@/:]/.test(engine.version)) {
    out.push({
      field: `${field}/version`,
      reason: `'${engine.version.slice(0, 80)}' is an image reference, not a version: ${why}`,
    });
  }
  return out;
}

/** A preValidation hook refusing a raw image in the body's engine (body.engine, or body.composition.engine). */
export function refuseRawImage(where: "/engine" | "/composition/engine") {
  return async (req: FastifyRequest) => {
    const body = req.body as Record<string, unknown> | undefined;
    const engine = where === "/engine" ? body?.engine : isObject(body?.composition) ? body.composition.engine : undefined;
    const errs = rawImageErrors(engine, where);
    if (errs.length > 0)
      throw new ApiProblem(
        "invalid-composition",
        `engine images are pinned by digest in the region's engine registry; name a registered engine instead (${errs[0]!.field})`,
        errs,
      );
  };
}

/**
 * Resolves a pin to a registered engine or refuses it with a 422 naming the
 * field that carries the pin.
 */
export async function resolveOrRefuse(
  db: Db,
  pin: { name: string; version: string },
  hardware: EngineHardware | undefined,
  field: string,
): Promise<EngineRow> {
  const r = await resolveEngine(db, pin, hardware ?? "cpu");
  if (r.ok) return r.engine;
  throw new ApiProblem("invalid-composition", r.message, [{ field, reason: r.message }]);
}

export function registerEngineRoutes(
  app: FastifyInstance,
  deps: { db: Db },
  requireRole: (role: "viewer" | "submitter" | "operator" | "admin") => RoleGuard,
  security: { bearerAuth: string[] }[],
): void {
  const { db } = deps;

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    "/v1/engines",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["engines"],
        summary: "The engines registered in this region: what compositions and factories may pin",
        security,
        querystring: ListQuery,
        response: { 200: Type.Object({ engines: Type.Array(EngineSchema) }), ...errors },
      },
    },
    async (req) => ({ engines: (await listEngines(db, { name: req.query.name })).map(view) }),
  );

  app.post<{ Body: RegisterBody }>(
    "/v1/engines",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["engines"],
        summary: "Register an engine (operator role): an image pinned by digest, or the hosts' own binaries",
        description:
          "Idempotent on (name, version, image): registering the same engine again returns it (200) with its encoders, " +
          "hwaccels and hardware refreshed. Engines are region-wide: every tenant's jobs may pin them.",
        security,
        body: RegisterBody,
        response: { 201: EngineSchema, 200: EngineSchema, ...errors, 422: ProblemRef },
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (b.image !== null) {
        const why = engineImageProblem(b.image);
        if (why) throw new ApiProblem("invalid-request", `The image is not acceptable: ${why}`, [{ field: "/image", reason: why }]);
      }
      const p = principalOf(req);
      try {
        const r = await registerEngine(db, {
          name: b.name,
          version: b.version,
          image: b.image,
          encoders: b.encoders ?? [],
          hwaccels: b.hwaccels ?? [],
          hardware: (b.hardware ?? "cpu") as EngineHardware,
          registeredBy: `api key ${p.keyId} (tenant ${p.tenant}, ${p.role})`,
        });
        return reply.code(r.created ? 201 : 200).send(view(r.engine));
      } catch (err) {
        if (err instanceof EngineInputError)
          throw new ApiProblem("invalid-request", err.message, [{ field: `/${err.field}`, reason: err.reason }]);
        throw err;
      }
    },
  );
}
