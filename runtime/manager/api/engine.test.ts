// The API wired to the real engine: the shipped example compositions are accepted
// and planned by runtime/engine's validateComposition and planJob, the stored DAG is
// the planner's, and the OpenAPI document carries the engine's composition schema.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompositionSchema, validateComposition, type Composition } from "../../engine/composition.js";
import { planJob } from "../../engine/plan.js";
import { startHarness, type Harness } from "./testkit.js";

const examplesDir = path.resolve(import.meta.dirname, "../../../examples/compositions");
const examples = fs
  .readdirSync(examplesDir)
  .filter((f) => f.endsWith(".json"))
  .sort();

let h: Harness;
beforeAll(async () => {
  h = await startHarness("apiengine", {
    validateComposition,
    planJob,
    storesFor: (tenant) => (tenant === "acme" ? ["local"] : []),
    compositionSchema: CompositionSchema,
  });
});
afterAll(async () => {
  await h?.close();
});

describe("the API with the real engine", () => {
  it("has example compositions to submit", () => {
    expect(examples.length).toBeGreaterThanOrEqual(1);
  });

  it.each(examples)("accepts and plans examples/compositions/%s", async (file) => {
    const composition = JSON.parse(fs.readFileSync(path.join(examplesDir, file), "utf8")) as Composition;
    const r = await h.call("POST", "/v1/jobs", { key: h.key.submitter, body: { composition } });
    expect(r.status, JSON.stringify(r.body?.errors ?? r.body).slice(0, 400)).toBe(201);
    const checked = validateComposition(composition);
    if (!checked.ok) throw new Error(`example ${file} is invalid: ${JSON.stringify(checked.errors)}`);
    const expected = planJob(checked.value, { jobId: r.body.id });
    const got = new Map((r.body.tasks as { key: string; dependsOn: string[]; pool: string; state: string }[]).map((t) => [t.key, t]));
    expect([...got.keys()].sort()).toEqual(expected.map((t) => t.key).sort());
    for (const t of expected) {
      expect(got.get(t.key)!.dependsOn.slice().sort(), t.key).toEqual(t.dependsOn.slice().sort());
      expect(got.get(t.key)!.pool).toBe(t.pool);
      expect(got.get(t.key)!.state).toBe(t.dependsOn.length === 0 ? "ready" : "blocked");
    }
    expect(r.body.engine).toEqual({ name: composition.engine.name, version: composition.engine.version });
  });

  it("refuses a store the tenant has not been given, even in a composition the engine accepts", async () => {
    const composition = JSON.parse(fs.readFileSync(path.join(examplesDir, examples[0]!), "utf8")) as Composition;
    const before = await h.jobCount();
    const r = await h.call("POST", "/v1/jobs", { key: h.key.globex, body: { composition } });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContain("/composition/input/uri");
    expect(r.body.errors[0].reason).toMatch(/this tenant has no stores/);
    expect(await h.jobCount()).toBe(before);
  });

  it("publishes the engine's composition schema in the OpenAPI document", async () => {
    const doc = (await h.call("GET", "/openapi.json")).body;
    expect(doc.components.schemas.Composition.properties.video).toBeDefined();
    const body = doc.paths["/v1/jobs"].post.requestBody.content["application/json"].schema;
    expect(body.properties.composition).toEqual({ $ref: "#/components/schemas/Composition" });
    expect(body.additionalProperties).toBe(false);
  });
});
