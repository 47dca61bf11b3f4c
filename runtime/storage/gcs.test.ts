// GcsStore through Google's client library against a local endpoint that speaks GCS's
// JSON/upload/XML APIs (test/support/fake-gcs.ts; the cloud is not reachable from here).
// Proves: the library's real requests work with GcsStore (uploads single and resumable,
// ranged downloads, paged listing, copy, delete) and V4 signed URLs are bound to their
// object, method and expiry (the fake verifies the RSA signature). Cannot prove: OAuth/IAM.
import { generateKeyPairSync, randomBytes, createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGcs, type FakeGcs } from "../../test/support/fake-gcs.js";
import { GcsStore } from "./gcs.js";
import { PresignedStore, StoreScopeError } from "./presigned.js";
import { presignedDefinition, signForTask, taskScope } from "./grants.js";
import { StoreRefError } from "./keys.js";

async function bytes(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe("GcsStore against a local GCS API endpoint", () => {
  let fake: FakeGcs;
  let store: GcsStore;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const clientEmail = "framefleet@test-project.iam.gserviceaccount.com";

  beforeAll(async () => {
    fake = await startFakeGcs({ publicKey, clientEmail });
    store = new GcsStore("media", {
      bucket: "acme-media",
      prefix: "tenant/",
      endpoint: fake.endpoint,
      credentials: { client_email: clientEmail, private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() },
    });
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it("writes, stats, reads by range, lists with paging, copies and deletes under its prefix", async () => {
    expect((await store.write("in/a.txt", "hello, world")).size).toBe(12);
    expect(fake.objects.has("acme-media/tenant/in/a.txt")).toBe(true);
    expect((await store.stat("in/a.txt"))?.size).toBe(12);
    expect(await store.stat("in/none.txt")).toBeUndefined();
    expect((await bytes(await store.read("in/a.txt"))).toString()).toBe("hello, world");
    expect((await bytes(await store.read("in/a.txt", { start: 7, end: 11 }))).toString()).toBe("world");
    await store.write("in/b.txt", "b");
    await store.write("in/c.txt", "c");
    expect((await store.list("in/")).map((o) => o.key)).toEqual(["in/a.txt", "in/b.txt", "in/c.txt"]);
    expect(fake.requests.some((r) => r.includes("pageToken="))).toBe(true);
    expect(await store.copyPrefix("in/", "copy/")).toBe(3);
    expect((await bytes(await store.read("copy/b.txt"))).toString()).toBe("b");
    expect(await store.deletePrefix("copy/")).toBe(3);
    expect(await store.list("copy/")).toEqual([]);
    await expect(store.read("in/none.txt")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("streams a large body as a resumable upload", async () => {
    const big = randomBytes(9 * 1024 * 1024 + 3);
    const info = await store.write("big/master.bin", Readable.from([big.subarray(0, 4 << 20), big.subarray(4 << 20)]));
    expect(info.size).toBe(big.length);
    expect(fake.requests.some((r) => r.includes("uploadType=resumable"))).toBe(true);
    const back = await bytes(await store.read("big/master.bin"));
    expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(big).digest("hex"));
  });

  it("signs V4 URLs bound to one object, one method and an expiry", async () => {
    await store.write("in/secret.txt", "for the task");
    await store.write("in/other.txt", "not for the task");
    const get = await store.signGet("in/secret.txt", 300);
    expect(await (await fetch(get.url)).text()).toBe("for the task");
    const ranged = await fetch(get.url, { headers: { range: "bytes=4-6" } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe("the");
    expect((await fetch(get.url.replace("secret.txt", "other.txt"))).status).toBe(403);
    expect((await fetch(get.url, { method: "PUT", body: "x" })).status).toBe(403);
    const put = await store.signPut("out/new.txt", 300);
    expect((await fetch(put.url, { method: "PUT", body: "from a worker" })).status).toBe(200);
    expect((await bytes(await store.read("out/new.txt"))).toString()).toBe("from a worker");
    expect((await fetch(put.url.replace("out/new.txt", "in/secret.txt"), { method: "PUT", body: "overwrite" })).status).toBe(403);
    expect((await bytes(await store.read("in/secret.txt"))).toString()).toBe("for the task");
  });

  it("gives a worker a grant for its keys only; writes stream as one signed PUT", async () => {
    await store.write("in/master.mov", randomBytes(50_000));
    const task = {
      jobId: "job-g",
      key: "encode:360p",
      attempt: 1,
      spec: { input: "store://media/in/master.mov", output: "store://media/out/x/" },
      deps: {},
    };
    const scope = taskScope(task);
    const def = await presignedDefinition(store, "gcs", "media", scope, 600);
    expect(JSON.stringify(def)).not.toContain("PRIVATE KEY");
    const w = new PresignedStore("media", JSON.parse(JSON.stringify(def)), { signer: (req) => signForTask(store, scope, req, 600) });
    expect((await w.stat("in/master.mov"))?.size).toBe(50_000);
    await expect(w.read("in/a.txt")).rejects.toBeInstanceOf(StoreScopeError);
    const big = randomBytes(10 * 1024 * 1024);
    await w.write(".framefleet-staging/job-g/encode:360p/1/video.mp4", Readable.from([big.subarray(0, 6 << 20), big.subarray(6 << 20)]));
    expect((await store.stat(".framefleet-staging/job-g/encode:360p/1/video.mp4"))?.size).toBe(big.length);
    await expect(w.write("out/x/master.m3u8", "#EXTM3U")).rejects.toBeInstanceOf(StoreScopeError);
    for (const k of ["../x", "/abs", "a/../../b", "a\u0000b", "x".repeat(1100)]) {
      await expect(store.write(k, "x"), k).rejects.toBeInstanceOf(StoreRefError);
      await expect(store.signGet(k, 60), k).rejects.toBeInstanceOf(StoreRefError);
    }
  });
});
