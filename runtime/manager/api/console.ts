// The web console (console/, built by `npm run console:build` into console/dist)
// served at `/`, and the two read-only routes it needs beyond the jobs API: a
// job's output files (the in-browser player reads HLS through it) and the
// region's queue depth. Nothing is loaded from a CDN: the bundle is self-contained.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import fastifyStatic from "@fastify/static";
import { Type, type Static } from "@sinclair/typebox";
import { getJob, queueDepth, type Db } from "../store/index.js";
import type { Store } from "../../storage/store.js";
import { parseStoreRef, validateKey } from "../../storage/keys.js";
import { principalOf } from "./auth.js";
import { roleGuard } from "./events.js";
import { ApiProblem } from "./problems.js";
import { UUID_PATTERN } from "./schemas.js";

export const DEFAULT_CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../console/dist");

export interface ConsoleRoutesDeps {
  db: Db;
  /** the tenant's stores (shared and registered), by name */
  resolverFor: (tenant: string) => Promise<(name: string) => Store> | ((name: string) => Store);
  /** the built console; default console/dist */
  consoleDir?: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".mpd": "application/dash+xml",
  ".m4s": "video/iso.segment",
  ".mp4": "video/mp4",
  ".m4a": "audio/mp4",
  ".ts": "video/mp2t",
  ".aac": "audio/aac",
  ".vtt": "text/vtt",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".webp": "image/webp",
  ".json": "application/json",
};

// the console's own scripts only; hls.js feeds media from blob: URLs and runs no worker here
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

const FileParams = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }), "*": Type.String({ minLength: 1, maxLength: 1024 }) });
const BEARER = [{ bearerAuth: [] as string[] }];

export async function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRoutesDeps): Promise<void> {
  const requireRole = roleGuard(deps.db);

  app.get<{ Params: Static<typeof FileParams> }>(
    "/v1/jobs/:id/files/*",
    {
      onRequest: requireRole("viewer"),
      schema: {
        tags: ["jobs"],
        summary: "A file under the job's output prefix (HLS playlists and segments for the console's player)",
        security: BEARER,
        params: FileParams,
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      const job = await getJob(deps.db, p.tenant, req.params.id);
      if (!job) throw new ApiProblem("not-found", `No job ${req.params.id}`);
      const rel = req.params["*"];
      const outUri = (job.composition as { output?: { uri?: string } } | null)?.output?.uri;
      if (!outUri) throw new ApiProblem("not-found", "The job has no output location");
      let store: Store;
      let key: string;
      try {
        const ref = parseStoreRef(outUri, { prefix: true });
        const prefix = ref.key.endsWith("/") || ref.key === "" ? ref.key : ref.key + "/";
        key = prefix + rel;
        if (rel.split("/").some((s) => s === "" || s === "." || s === "..")) throw new Error("bad path");
        validateKey(key);
        store = (await deps.resolverFor(p.tenant))(ref.store);
      } catch {
        throw new ApiProblem("not-found", `No file ${rel.slice(0, 200)}`, [
          { field: "path/*", reason: "not a file of this job's outputs" },
        ]);
      }
      const info = await store.stat(key);
      if (!info) throw new ApiProblem("not-found", `No file ${rel.slice(0, 200)}`);
      const type = CONTENT_TYPES[path.extname(key).toLowerCase()] ?? "application/octet-stream";
      return reply
        .type(type)
        .header("cache-control", "private, no-cache")
        .header("x-content-type-options", "nosniff")
        .send(await store.read(key));
    },
  );

  app.get(
    "/v1/region/queue",
    {
      onRequest: requireRole("operator"),
      schema: {
        tags: ["fleet"],
        summary: "Ready and running tasks per pool, now (the console samples it for its charts)",
        security: BEARER,
        response: {
          200: Type.Object({
            at: Type.String(),
            pools: Type.Array(Type.Object({ pool: Type.String(), ready: Type.Integer(), running: Type.Integer() })),
          }),
        },
      },
    },
    async () => ({ at: new Date().toISOString(), pools: await queueDepth(deps.db) }),
  );

  const root = deps.consoleDir ?? DEFAULT_CONSOLE_DIR;
  if (!fs.existsSync(path.join(root, "index.html"))) {
    app.get("/", { schema: { hide: true } }, async (_req, reply) =>
      reply.code(503).type("text/plain").send("The console is not built: run `npm run console:build`.\n"),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    wildcard: true,
    index: ["index.html"],
    // hashed asset names can be cached for ever; index.html must be revalidated
    setHeaders: (reply, file) => {
      reply.header("content-security-policy", CSP);
      reply.header("x-content-type-options", "nosniff");
      reply.header("referrer-policy", "no-referrer");
      reply.header("cache-control", file.includes(`${path.sep}assets${path.sep}`) ? "public, max-age=31536000, immutable" : "no-cache");
    },
  });
}
