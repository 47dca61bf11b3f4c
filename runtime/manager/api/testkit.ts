// Shared by the API tests: a real PostgreSQL database, the API listening on a
// loopback port, API keys of each role, and a small valid composition.
// Not a test file itself (vitest only collects *.test.ts).

import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import { createTestDatabase } from "../../../test/support/db.js";
import type { PlannedTask } from "../../engine/types.js";
import { createSecretToken } from "../../pki/tokens.js";
import {
  countJobsByState,
  createDb,
  insertApiKey,
  registerEngine,
  revokeApiKey,
  type Db,
  type NewEngine,
  type Role,
} from "../store/index.js";
import { buildApi } from "./server.js";
import type { ApiDeps, CompositionLike } from "./types.js";

/** Response bodies are read field by field in assertions; a failed read fails the test. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResponseBody = any;

export interface Harness {
  app: FastifyInstance;
  db: Db;
  base: string;
  /** ffk_... keys by name, created in `keys` */
  key: Record<string, string>;
  submitted: string[];
  cancelled: { taskId: string; attempt: number; epoch: number; coordinatorId: string }[][];
  plannedIds: string[];
  close(): Promise<void>;
  jobCount(): Promise<number>;
  call(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: ResponseBody; text: string }>;
}

/** A planner good enough for the API tests: probe, one encode per video rendition, package. */
export function testPlanner(composition: { video?: { renditions?: { name: string }[] } }): PlannedTask[] {
  const req = { cpuMillis: 1000, memoryMb: 256, gpus: 0 };
  const encodes = (composition.video?.renditions ?? []).map((r) => `encode:${r.name}`);
  return [
    { key: "probe", kind: "probe", pool: "probe", requirements: req, dependsOn: [], maxAttempts: 3, spec: {} },
    ...encodes.map((key) => ({
      key,
      kind: "encode",
      pool: "encode" as const,
      requirements: req,
      dependsOn: ["probe"],
      maxAttempts: 3,
      spec: { key },
    })),
    { key: "package", kind: "package", pool: "package", requirements: req, dependsOn: encodes, maxAttempts: 3, spec: {} },
  ];
}

export function minimalComposition(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "framefleet/v1",
    engine: { name: "ffmpeg", version: "5.1" },
    input: { uri: "store://media/in/source.mp4" },
    output: { uri: "store://media/out/" },
    video: { renditions: [{ name: "v720", height: 720, rateControl: { mode: "vbr", bitrateKbps: 3000 } }] },
    packaging: { mp4: {} },
    ...over,
  };
}

/** The engine a harness registers unless told otherwise: host binaries, like a local region's. */
export const TEST_ENGINE: NewEngine = {
  name: "ffmpeg",
  version: "5.1.9",
  image: null,
  encoders: ["aac", "libx264", "libx265", "libsvtav1"],
  hwaccels: [],
  hardware: "any",
  registeredBy: "test harness",
};

export const KEYS: { name: string; tenant: string; role: Role; revoke?: boolean }[] = [
  { name: "admin", tenant: "acme", role: "admin" },
  { name: "operator", tenant: "acme", role: "operator" },
  { name: "submitter", tenant: "acme", role: "submitter" },
  { name: "viewer", tenant: "acme", role: "viewer" },
  { name: "revoked", tenant: "acme", role: "admin", revoke: true },
  { name: "globex", tenant: "globex", role: "admin" },
];

export async function startHarness<C extends CompositionLike>(
  label: string,
  deps: Pick<ApiDeps<C>, "validateComposition" | "planJob"> & Partial<ApiDeps<C>>,
  opts: { engines?: NewEngine[] } = {},
): Promise<Harness> {
  const t = await createTestDatabase(label);
  const db = createDb(t.url);
  // submissions must resolve to a registered engine; by default the hosts' own ffmpeg 5.1.9, as a local region registers
  for (const e of opts.engines ?? [TEST_ENGINE]) await registerEngine(db, e);
  const submitted: string[] = [];
  const cancelled: Harness["cancelled"] = [];
  const plannedIds: string[] = [];
  const planJob = deps.planJob;
  const app = await buildApi<C>({
    db,
    region: "test-1",
    storesFor: (tenant) => (tenant === "acme" ? ["media", "archive"] : ["globex-media"]),
    onJobSubmitted: (id) => submitted.push(id),
    onCancelled: (running) => cancelled.push(running),
    ...deps,
    planJob: (c, opts) => {
      plannedIds.push(opts.jobId);
      return planJob(c, opts);
    },
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const key: Record<string, string> = {};
  for (const k of KEYS) {
    const s = createSecretToken("ffk");
    await insertApiKey(db, { id: s.lookupId, tenant: k.tenant, role: k.role, hash: s.hash, name: k.name });
    if (k.revoke) await revokeApiKey(db, s.lookupId);
    key[k.name] = s.token;
  }
  return {
    app,
    db,
    base,
    key,
    submitted,
    cancelled,
    plannedIds,
    async close() {
      await app.close();
      await db.end();
      await t.drop();
    },
    async jobCount() {
      return Object.values(await countJobsByState(db)).reduce((a, b) => a + b, 0);
    },
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      let body: string | undefined;
      if (opts.raw !== undefined) body = opts.raw;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
        headers["content-type"] = "application/json";
      const res = await fetch(base + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed as ResponseBody, text };
    },
  };
}
