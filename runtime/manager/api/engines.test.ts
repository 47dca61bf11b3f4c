// The engine registry over real HTTP and PostgreSQL, with the real engine's
// validator and planner: registration and its refusals, how a pin resolves at
// submission (and stays resolved), and compositions or factories that try to
// name an unregistered engine or a raw image.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompositionSchema, validateComposition } from "../../engine/composition.js";
import { planJob } from "../../engine/plan.js";
import {
  chooseEngine,
  EngineInputError,
  insertCoordinator,
  leaseTasks,
  listAudit,
  markConnected,
  pendingAssignments,
  readyTasks,
  registerEngine,
  type EngineRow,
} from "../store/index.js";
import { minimalComposition, startHarness, type Harness } from "./testkit.js";

const D1 = "sha256:" + "1".repeat(64);
const D2 = "sha256:" + "2".repeat(64);
const IMAGE_919 = `registry.internal:5000/framefleet/engine-ffmpeg@${D1}`;
const IMAGE_920 = `registry.internal:5000/framefleet/engine-ffmpeg@${D2}`;

let h: Harness;
beforeAll(async () => {
  // an empty registry: this file registers what it resolves against
  h = await startHarness("engines", { validateComposition, planJob, compositionSchema: CompositionSchema }, { engines: [] });
});
afterAll(async () => {
  await h?.close();
});

const submit = (composition: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  h.call("POST", "/v1/jobs", { key: h.key.submitter, body: { composition, ...extra } });

describe("POST /v1/engines and GET /v1/engines", () => {
  it("lets an operator register an image pinned by digest or host binaries, idempotently; anyone in a tenant may list", async () => {
    const denied = await h.call("POST", "/v1/engines", {
      key: h.key.submitter,
      body: { name: "ffmpeg", version: "5.1.8", image: null },
    });
    expect(denied.status).toBe(403);

    const host = await h.call("POST", "/v1/engines", {
      key: h.key.operator,
      body: { name: "ffmpeg", version: "5.1.8", image: null, encoders: ["libx264", "aac"], hardware: "cpu" },
    });
    expect(host.status, JSON.stringify(host.body)).toBe(201);
    expect(host.body).toMatchObject({ name: "ffmpeg", version: "5.1.8", image: null, digest: null, encoders: ["aac", "libx264"] });

    const img = await h.call("POST", "/v1/engines", {
      key: h.key.admin,
      body: { name: "ffmpeg", version: "5.1.9", image: IMAGE_919, encoders: ["libx264", "aac"], hwaccels: [], hardware: "cpu" },
    });
    expect(img.status, JSON.stringify(img.body)).toBe(201);
    expect(img.body.digest).toBe(D1);
    expect(img.body.registeredBy).toMatch(/api key .*admin/);

    const again = await h.call("POST", "/v1/engines", {
      key: h.key.operator,
      body: { name: "ffmpeg", version: "5.1.9", image: IMAGE_919, encoders: ["libx264", "aac", "libx265"], hardware: "cpu" },
    });
    expect(again.status).toBe(200);
    expect(again.body.encoders).toEqual(["aac", "libx264", "libx265"]);
    // host binaries (no image) are one engine per name and version too, as a region restart re-registers them
    const hostAgain = await h.call("POST", "/v1/engines", { key: h.key.operator, body: { name: "ffmpeg", version: "5.1.8", image: null } });
    expect(hostAgain.status).toBe(200);

    const list = await h.call("GET", "/v1/engines", { key: h.key.viewer });
    expect(list.status).toBe(200);
    expect(list.body.engines.map((e: { version: string; image: string | null }) => [e.version, e.image])).toEqual([
      ["5.1.9", IMAGE_919],
      ["5.1.8", null],
    ]);
    expect((await h.call("GET", "/v1/engines", { key: h.key.globex })).body.engines).toHaveLength(2);
    expect((await h.call("GET", "/v1/engines")).status).toBe(401);
  });

  it("refuses an image that is not pinned by digest, naming the field", async () => {
    const cases: [unknown, RegExp][] = [
      ["ffmpeg:latest", /pinned by digest/],
      ["registry.internal/framefleet/engine-ffmpeg:5.1.9", /pinned by digest/],
      ["engine-ffmpeg@sha256:abc", /64 lower-case hex/],
      [`engine-ffmpeg:5.1.9@${D1}`, /no tag/],
      [`Engine-FFmpeg@${D1}`, /not a repository reference/],
    ];
    for (const [image, reason] of cases) {
      const r = await h.call("POST", "/v1/engines", { key: h.key.operator, body: { name: "ffmpeg", version: "5.1.9", image } });
      expect(r.status, String(image)).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(r.body.errors, String(image)).toEqual([{ field: "/image", reason: expect.stringMatching(reason) }]);
    }
    const noImage = await h.call("POST", "/v1/engines", { key: h.key.operator, body: { name: "ffmpeg", version: "5.1.9" } });
    expect(noImage.status).toBe(400);
    expect(noImage.body.errors[0].field).toBe("/image");
    const badVersion = await h.call("POST", "/v1/engines", {
      key: h.key.operator,
      body: { name: "ffmpeg", version: "latest", image: IMAGE_919 },
    });
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.errors[0].field).toBe("/version");
    // the store refuses the same on its own, for callers that are not the API (the demo, the region)
    await expect(
      registerEngine(h.db, { name: "ffmpeg", version: "5.1.9", image: "ffmpeg:latest", encoders: [], hwaccels: [], hardware: "cpu" }),
    ).rejects.toThrow(EngineInputError);
  });
});

describe("resolving a job's engine pin at submission", () => {
  it("resolves 5.1 to the newest registered 5.1.x, records the exact version and image, and never changes it", async () => {
    const first = await submit(minimalComposition());
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.engine).toEqual({ name: "ffmpeg", version: "5.1" });
    expect(first.body.resolvedEngine).toEqual({ name: "ffmpeg", version: "5.1.9", image: IMAGE_919 });
    const submitted = (await listAudit(h.db, "acme", first.body.id)).find((a) => a.kind === "job.submitted")!;
    expect(submitted.data).toMatchObject({ resolvedEngine: { version: "5.1.9", image: IMAGE_919 } });

    // the tasks carry the image: the scheduler reads its digest, the assignment its reference
    const ready = (await readyTasks(h.db, 100)).filter((t) => first.body.tasks.some((x: { id: string }) => x.id === t.id));
    expect(ready.length).toBeGreaterThan(0);
    for (const t of ready) expect(t).toMatchObject({ engineVersion: "5.1.9", imageDigest: D1 });
    await insertCoordinator(h.db, {
      id: "c-img",
      region: "test-1",
      hostname: "h",
      certSerial: "1",
      certNotAfter: new Date(Date.now() + 3.6e6),
    });
    await markConnected(h.db, "c-img", "r1", "h", {
      cpuMillis: 8000,
      memoryMb: 8000,
      gpus: 0,
      engines: [],
      pools: [],
      capacityType: "local",
      instanceType: "",
      detail: {},
      pullsImages: true,
    });
    await leaseTasks(h.db, [{ taskId: ready[0]!.id, coordinatorId: "c-img" }]);
    const assigned = await pendingAssignments(h.db, "c-img");
    expect(assigned.map((a) => [a.engineVersion, a.engineImage])).toEqual([["5.1.9", IMAGE_919]]);

    // a newer engine registered later serves new jobs; the first job keeps what it resolved to
    await registerEngine(h.db, { name: "ffmpeg", version: "5.1.10", image: IMAGE_920, encoders: [], hwaccels: [], hardware: "cpu" });
    const second = await submit(minimalComposition());
    expect(second.body.resolvedEngine).toEqual({ name: "ffmpeg", version: "5.1.10", image: IMAGE_920 });
    const reread = await h.call("GET", `/v1/jobs/${first.body.id}`, { key: h.key.viewer });
    expect(reread.body.resolvedEngine).toEqual({ name: "ffmpeg", version: "5.1.9", image: IMAGE_919 });
    const listed = await h.call("GET", "/v1/jobs", { key: h.key.viewer });
    expect(listed.body.jobs.find((j: { id: string }) => j.id === first.body.id).resolvedEngine.version).toBe("5.1.9");

    // an exact pin gets exactly that version, host binaries included
    const exact = await submit(minimalComposition({ engine: { name: "ffmpeg", version: "5.1.8" } }));
    expect(exact.status, JSON.stringify(exact.body)).toBe(201);
    expect(exact.body.resolvedEngine).toEqual({ name: "ffmpeg", version: "5.1.8", image: null });
  });

  it("refuses a pin nothing registered matches with a 422 naming the engine and listing what is registered", async () => {
    const before = await h.jobCount();
    const r = await submit(minimalComposition({ engine: { name: "ffmpeg", version: "6.0" } }));
    expect(r.status).toBe(422);
    expect(r.body.type).toBe("urn:framefleet:problem:invalid-composition");
    expect(r.body.detail).toMatch(/^engine ffmpeg 6\.0 is not registered in this region; registered: .*ffmpeg 5\.1\.9/);
    expect(r.body.errors).toEqual([{ field: "/composition/engine", reason: r.body.detail }]);
    // a GPU composition needs an engine registered for GPU hardware
    const gpu = await submit(minimalComposition({ hardware: "gpu" }));
    expect(gpu.status, JSON.stringify(gpu.body)).toBe(422);
    expect(gpu.body.errors[0].field).toBe("/composition/engine");
    expect(gpu.body.detail).toMatch(/only for cpu hardware, not gpu/);
    expect(await h.jobCount()).toBe(before);
  });

  it("refuses a composition that names a raw image, by field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "ffmpeg", version: "5.1", image: IMAGE_919 }, "/composition/engine/image"],
      [{ name: "ffmpeg", version: `ffmpeg@${D1}` }, "/composition/engine/version"],
      [{ name: "ffmpeg", version: "registry.internal/ffmpeg" }, "/composition/engine/version"],
      [{ name: "ffmpeg", version: "ffmpeg:latest" }, "/composition/engine/version"],
    ];
    for (const [engine, field] of cases) {
      const r = await submit(minimalComposition({ engine }));
      expect(r.status, JSON.stringify(engine)).toBe(422);
      expect(r.body.detail).toMatch(/engine images are pinned by digest/);
      expect(r.body.errors[0]).toEqual({ field, reason: expect.stringMatching(/never by image/) });
    }
  });
});

describe("factories and the registry", () => {
  const template = {
    apiVersion: "framefleet/v1",
    video: { renditions: [{ name: "720p", height: 720, rateControl: { mode: "vbr", bitrateKbps: 2800 } }] },
    packaging: { mp4: {} },
  };
  const perJob = { input: { uri: "store://media/in/a.mp4" }, output: { uri: "store://media/out/a/" } };

  it("pins only registered engines, refuses raw images, and resolves each job against the factory's pin", async () => {
    const unregistered = await h.call("POST", "/v1/factories", {
      key: h.key.operator,
      body: { name: "f7", engine: { name: "ffmpeg", version: "7.0" }, template },
    });
    expect(unregistered.status).toBe(422);
    expect(unregistered.body.errors[0]).toMatchObject({ field: "/engine", reason: expect.stringMatching(/7\.0 is not registered/) });

    const raw = await h.call("POST", "/v1/factories", {
      key: h.key.operator,
      body: { name: "fr", engine: { name: "ffmpeg", version: "5.1", image: IMAGE_919 }, template },
    });
    expect(raw.status).toBe(422);
    expect(raw.body.errors[0].field).toBe("/engine/image");

    const ok = await h.call("POST", "/v1/factories", {
      key: h.key.operator,
      body: { name: "f51", engine: { name: "ffmpeg", version: "5.1.9" }, template },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const job = await h.call("POST", "/v1/jobs", { key: h.key.submitter, body: { factory: "f51", composition: perJob } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    expect(job.body.resolvedEngine).toEqual({ name: "ffmpeg", version: "5.1.9", image: IMAGE_919 });

    const upgrade = await h.call("POST", "/v1/factories/f51/engine", {
      key: h.key.operator,
      body: { engine: { name: "ffmpeg", version: "6.1" }, reason: "try 6.1" },
    });
    expect(upgrade.status).toBe(422);
    expect(upgrade.body.errors[0].field).toBe("/engine");
    const rawUpgrade = await h.call("POST", "/v1/factories/f51/engine", {
      key: h.key.operator,
      body: { engine: { name: "ffmpeg", version: `x@${D2}` }, reason: "image" },
    });
    expect(rawUpgrade.status).toBe(422);
    expect(rawUpgrade.body.errors[0].field).toBe("/engine/version");
    expect((await h.call("GET", "/v1/factories/f51", { key: h.key.viewer })).body.revision).toBe(1);
  });
});

describe("chooseEngine", () => {
  const row = (version: string, image: string | null, hardware: EngineRow["hardware"] = "cpu", at = 0): EngineRow => ({
    id: at,
    name: "ffmpeg",
    version,
    image,
    digest: image?.split("@")[1] ?? null,
    encoders: [],
    hwaccels: [],
    hardware,
    registeredAt: new Date(1_700_000_000_000 + at),
    registeredBy: "",
  });

  it("takes the newest matching version, then an image over host binaries, then the latest registration", () => {
    const pick = (rows: EngineRow[], version: string, hw?: EngineRow["hardware"]) => {
      const r = chooseEngine(rows, { name: "ffmpeg", version }, hw);
      return r.ok ? [r.engine.version, r.engine.image] : r.reason;
    };
    expect(pick([row("5.1.9", null), row("5.1.10", null), row("6.0.1", null)], "5.1")).toEqual(["5.1.10", null]);
    expect(pick([row("5.1.9", null, "cpu", 2), row("5.1.9", IMAGE_919, "cpu", 1)], "5.1")).toEqual(["5.1.9", IMAGE_919]);
    expect(pick([row("5.1.9", IMAGE_919, "cpu", 1), row("5.1.9", IMAGE_920, "cpu", 2)], "5.1.9")).toEqual(["5.1.9", IMAGE_920]);
    // "5" matches 5.x.y, "5.1" does not match 5.10
    expect(pick([row("5.10.1", null), row("5.1.2", null)], "5.1")).toEqual(["5.1.2", null]);
    expect(pick([row("5.10.1", null), row("5.1.2", null)], "5")).toEqual(["5.10.1", null]);
    expect(pick([row("5.1.9", null)], "5.2")).toBe("not-registered");
    // hardware: a GPU composition needs gpu or any, a CPU one cpu or any
    expect(pick([row("5.1.9", IMAGE_919, "cpu"), row("5.1.8", IMAGE_920, "gpu")], "5.1", "gpu")).toEqual(["5.1.8", IMAGE_920]);
    expect(pick([row("5.1.9", IMAGE_920, "gpu")], "5.1", "cpu")).toBe("no-hardware");
    expect(pick([row("5.1.9", null, "any")], "5.1", "gpu")).toEqual(["5.1.9", null]);
  });
});
