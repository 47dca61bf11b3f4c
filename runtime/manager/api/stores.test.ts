// /v1/stores and /v1/watch-folders against a real PostgreSQL: roles, tenant scoping,
// secrets by reference only, hostile names and prefixes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { minimalComposition, startHarness, testPlanner, type Harness } from "./testkit.js";
import { listStoreRows } from "../store/index.js";
import { validateComposition } from "../../engine/composition.js";

let h: Harness;

beforeAll(async () => {
  const builtin = { local: { kind: "fs" } };
  h = await startHarness("stores", {
    validateComposition,
    planJob: testPlanner,
    storesFor: async (tenant) => ["local", ...(await listStoreRows(h.db, tenant)).map((r) => r.name)],
    storeRegistry: { builtinStores: () => builtin },
  });
});
afterAll(async () => {
  await h?.close();
});

const s3 = (over: Record<string, unknown> = {}) => ({
  name: "media",
  kind: "s3",
  bucket: "acme-media",
  prefix: "renditions/",
  region: "eu-west-1",
  credentials: { source: "env", vars: { accessKeyId: "ACME_S3_KEY", secretAccessKey: "ACME_S3_SECRET" } },
  ...over,
});

describe("/v1/stores", () => {
  it("lets operators and admins register, everyone in the tenant read, and no one else see a store", async () => {
    expect((await h.call("POST", "/v1/stores", { key: h.key.submitter, body: s3() })).status).toBe(403);
    expect((await h.call("POST", "/v1/stores", { key: h.key.viewer, body: s3() })).status).toBe(403);
    expect((await h.call("POST", "/v1/stores", { body: s3() })).status).toBe(401);
    const r = await h.call("POST", "/v1/stores", { key: h.key.operator, body: s3() });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get("location")).toBe("/v1/stores/media");
    expect(r.body).toMatchObject({
      name: "media",
      kind: "s3",
      bucket: "acme-media",
      prefix: "renditions/",
      role: "output",
      builtin: false,
    });
    expect(r.body.credentials).toEqual({ source: "env", vars: { accessKeyId: "ACME_S3_KEY", secretAccessKey: "ACME_S3_SECRET" } });

    const one = await h.call("GET", "/v1/stores/media", { key: h.key.viewer });
    expect(one.status).toBe(200);
    const all = await h.call("GET", "/v1/stores", { key: h.key.viewer });
    expect(all.body.stores.map((s: { name: string; builtin: boolean }) => [s.name, s.builtin])).toEqual([
      ["local", true],
      ["media", false],
    ]);
    expect((await h.call("GET", "/v1/stores/media", { key: h.key.globex })).status).toBe(404);
    expect((await h.call("GET", "/v1/stores", { key: h.key.globex })).body.stores.map((s: { name: string }) => s.name)).toEqual(["local"]);
    // another tenant may use the same name for its own store
    expect((await h.call("POST", "/v1/stores", { key: h.key.globex, body: s3({ bucket: "globex-media" }) })).status).toBe(201);
    expect((await h.call("GET", "/v1/stores/media", { key: h.key.admin })).body.bucket).toBe("acme-media");
  });

  it("accepts no secret values, only references to where the manager finds them", async () => {
    const withSecret = await h.call("POST", "/v1/stores", {
      key: h.key.admin,
      body: s3({
        name: "leaky",
        credentials: { source: "env", vars: { accessKeyId: "AKIA", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } },
      }),
    });
    expect(withSecret.status).toBe(400);
    const inline = await h.call("POST", "/v1/stores", {
      key: h.key.admin,
      body: s3({ name: "leaky", credentials: { accessKeyId: "AKIA", secretAccessKey: "x" } }),
    });
    expect(inline.status).toBe(400);
    const incomplete = await h.call("POST", "/v1/stores", {
      key: h.key.admin,
      body: s3({ name: "partial", credentials: { source: "env", vars: { accessKeyId: "K" } } }),
    });
    expect(incomplete.status).toBe(400);
    expect(JSON.stringify(incomplete.body)).toMatch(/secretAccessKey/);
  });

  it("refuses hostile names, prefixes and endpoints, duplicates and built-in names", async () => {
    for (const body of [
      s3({ name: "../etc" }),
      s3({ name: "Media" }),
      s3({ name: "a".repeat(64) }),
      s3({ name: "__proto__" }),
      s3({ name: "p1", prefix: "../up/" }),
      s3({ name: "p2", prefix: "/abs/" }),
      s3({ name: "p3", prefix: "a/\u0000/" }),
      s3({ name: "p4", prefix: ".framefleet-staging/" }),
      s3({ name: "e1", endpoint: "file:///etc/passwd" }),
      s3({ name: "e2", endpoint: "http://x/?a=b" }),
      s3({ name: "b1", bucket: "../b" }),
      s3({ name: "k1", kind: "fs" }),
      s3({ name: "x1", extra: true }),
    ]) {
      const r = await h.call("POST", "/v1/stores", { key: h.key.admin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await h.call("POST", "/v1/stores", { key: h.key.admin, body: s3() })).status).toBe(409);
    expect((await h.call("POST", "/v1/stores", { key: h.key.admin, body: s3({ name: "local" }) })).status).toBe(409);
    expect((await h.call("GET", `/v1/stores/${encodeURIComponent("../media")}`, { key: h.key.admin })).status).toBe(404);
  });

  it("deletes a store that no unfinished job uses; the built-in one never", async () => {
    expect(
      (
        await h.call("POST", "/v1/stores", {
          key: h.key.admin,
          body: s3({ name: "archive", kind: "gcs", credentials: { source: "default" } }),
        })
      ).status,
    ).toBe(201);
    const job = await h.call("POST", "/v1/jobs", {
      key: h.key.submitter,
      body: { composition: minimalComposition({ input: { uri: "store://archive/in/a.mp4" }, output: { uri: "store://archive/out/" } }) },
    });
    expect(job.status, job.text).toBe(201);
    expect((await h.call("DELETE", "/v1/stores/archive", { key: h.key.admin })).status).toBe(409);
    await h.call("POST", `/v1/jobs/${job.body.id}/cancel`, { key: h.key.admin });
    expect((await h.call("DELETE", "/v1/stores/archive", { key: h.key.submitter })).status).toBe(403);
    expect((await h.call("DELETE", "/v1/stores/archive", { key: h.key.admin })).status).toBe(204);
    expect((await h.call("DELETE", "/v1/stores/archive", { key: h.key.admin })).status).toBe(404);
    expect((await h.call("DELETE", "/v1/stores/local", { key: h.key.admin })).status).toBe(409);
  });
});

describe("/v1/watch-folders", () => {
  it("registers a watch folder on one of the tenant's stores, never with outputs inside the watched prefix", async () => {
    const template = minimalComposition();
    expect(
      (
        await h.call("POST", "/v1/watch-folders", {
          key: h.key.submitter,
          body: { name: "inbox", input: "store://media/inbox/", output: "store://media/out/", template },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await h.call("POST", "/v1/watch-folders", {
          key: h.key.admin,
          body: { name: "inbox", input: "store://media/inbox/", output: "store://media/inbox/done/", template },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await h.call("POST", "/v1/watch-folders", {
          key: h.key.admin,
          body: { name: "inbox", input: "store://nope/inbox/", output: "store://media/out/", template },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await h.call("POST", "/v1/watch-folders", {
          key: h.key.admin,
          body: { name: "inbox", input: "store://media/../inbox/", output: "store://media/out/", template },
        })
      ).status,
    ).toBe(400);
    const ok = await h.call("POST", "/v1/watch-folders", {
      key: h.key.admin,
      body: { name: "inbox", input: "store://media/inbox", output: "store://media/out/", template },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toMatchObject({ name: "inbox", store: "media", prefix: "inbox/", outputPrefix: "store://media/out/", enabled: true });
    expect((await h.call("GET", "/v1/watch-folders", { key: h.key.viewer })).body.watchFolders).toHaveLength(1);
    expect((await h.call("GET", "/v1/watch-folders", { key: h.key.globex })).body.watchFolders).toHaveLength(0);
    expect((await h.call("DELETE", "/v1/watch-folders/inbox", { key: h.key.globex })).status).toBe(404);
    expect((await h.call("DELETE", "/v1/watch-folders/inbox", { key: h.key.operator })).status).toBe(204);
  });
});
