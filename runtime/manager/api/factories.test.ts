// Factories over real HTTP and PostgreSQL, with the real engine's validator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompositionSchema, validateComposition } from "../../engine/composition.js";
import { planJob } from "../../engine/plan.js";
import { listAudit } from "../store/index.js";
import { startHarness, type Harness } from "./testkit.js";
import { applyFactory, deepMerge } from "./factories.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness("factories", {
    validateComposition,
    planJob,
    storesFor: (t) => (t === "acme" ? ["local"] : []),
    compositionSchema: CompositionSchema,
  });
});
afterAll(async () => {
  await h?.close();
});

const template = {
  apiVersion: "framefleet/v1",
  video: {
    codec: "h264",
    gopSeconds: 2,
    renditions: [{ name: "720p", height: 720, rateControl: { mode: "vbr", bitrateKbps: 2800, maxrateKbps: 3000 } }],
  },
  audio: { renditions: [{ name: "aac", bitrateKbps: 128 }] },
  packaging: { segmentSeconds: 4, hls: { segmentType: "fmp4" } },
};
const perJob = { input: { uri: "store://local/in/a.mp4" }, output: { uri: "store://local/out/a/" } };

describe("factory merging", () => {
  it("lets the job's values win, key by key, and replaces arrays whole", () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] })).toEqual({ a: { b: 1, c: 3 }, l: [9] });
    const r = applyFactory({ name: "f", template: template as never, engineName: "ffmpeg", engineVersion: "5.1" }, perJob);
    expect(r.ok && (r.value as { engine: unknown }).engine).toEqual({ name: "ffmpeg", version: "5.1" });
  });

  it("refuses a job that names another engine than the factory's pin", () => {
    const r = applyFactory(
      { name: "f", template: template as never, engineName: "ffmpeg", engineVersion: "5.1" },
      { ...perJob, engine: { name: "ffmpeg", version: "6.0" } },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors[0]!.field).toBe("/composition/engine");
  });
});

describe("/v1/factories", () => {
  it("creates a factory, submits jobs against it, and records the revision and engine each job ran on", async () => {
    const created = await h.call("POST", "/v1/factories", {
      key: h.key.operator,
      body: { name: "web-ladder", engine: { name: "ffmpeg", version: "5.1" }, template },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: "web-ladder", revision: 1, engine: { version: "5.1" } });

    const job = await h.call("POST", "/v1/jobs", { key: h.key.submitter, body: { factory: "web-ladder", composition: perJob } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    expect(job.body.factory).toEqual({ name: "web-ladder", revision: 1 });
    expect(job.body.engine).toEqual({ name: "ffmpeg", version: "5.1" });
    expect(job.body.tasks.map((t: { key: string }) => t.key)).toContain("encode:720p");

    // the pin changes only by the explicit call, and that is audited
    const upgraded = await h.call("POST", "/v1/factories/web-ladder/engine", {
      key: h.key.operator,
      body: { engine: { name: "ffmpeg", version: "5.1.9" }, reason: "security fix" },
    });
    expect(upgraded.status, JSON.stringify(upgraded.body)).toBe(200);
    expect(upgraded.body).toMatchObject({ revision: 2, engine: { version: "5.1.9" } });
    const audit = await h.db.query("SELECT data FROM audit WHERE kind = 'factory.engine-upgraded'");
    expect(audit.rows[0].data).toMatchObject({
      factory: "web-ladder",
      from: { version: "5.1" },
      to: { version: "5.1.9" },
      reason: "security fix",
    });

    const later = await h.call("POST", "/v1/jobs", { key: h.key.submitter, body: { factory: "web-ladder", composition: perJob } });
    expect(later.body.factory).toEqual({ name: "web-ladder", revision: 2 });
    expect(later.body.engine.version).toBe("5.1.9");
    // the earlier job still says what it ran on
    const first = await h.call("GET", `/v1/jobs/${job.body.id}`, { key: h.key.viewer });
    expect(first.body.engine.version).toBe("5.1");
    expect((await listAudit(h.db, "acme", job.body.id)).find((a) => a.kind === "job.submitted")!.data).toMatchObject({
      factory: { name: "web-ladder", revision: 1 },
    });
  });

  it("refuses an engine in the template, a bad template, an unknown factory, a pin override and a submitter creating one", async () => {
    const withEngine = await h.call("POST", "/v1/factories", {
      key: h.key.operator,
      body: {
        name: "x",
        engine: { name: "ffmpeg", version: "5.1" },
        template: { ...template, engine: { name: "ffmpeg", version: "4.4" } },
      },
    });
    expect(withEngine.status).toBe(422);
    expect(withEngine.body.errors[0].field).toBe("/template/engine");
    const bad = await h.call("POST", "/v1/factories", {
      key: h.key.operator,
      body: {
        name: "y",
        engine: { name: "ffmpeg", version: "5.1" },
        template: { ...template, video: { renditions: [{ name: "odd", height: 719, rateControl: { mode: "vbr", bitrateKbps: 100 } }] } },
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toMatch(/^\/template\/video/);
    const unknown = await h.call("POST", "/v1/jobs", { key: h.key.submitter, body: { factory: "nope", composition: perJob } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].field).toBe("/factory");
    await h.call("POST", "/v1/factories", {
      key: h.key.operator,
      body: { name: "pinned", engine: { name: "ffmpeg", version: "5.1" }, template },
    });
    const override = await h.call("POST", "/v1/jobs", {
      key: h.key.submitter,
      body: { factory: "pinned", composition: { ...perJob, engine: { name: "ffmpeg", version: "6.1" } } },
    });
    expect(override.status).toBe(422);
    expect(override.body.errors[0].field).toBe("/composition/engine");
    const denied = await h.call("POST", "/v1/factories", {
      key: h.key.submitter,
      body: { name: "z", engine: { name: "ffmpeg", version: "5.1" }, template },
    });
    expect(denied.status).toBe(403);
    const otherTenant = await h.call("GET", "/v1/factories/pinned", { key: h.key.globex });
    expect(otherTenant.status).toBe(404);
  });
});
