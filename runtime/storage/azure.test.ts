// AzureStore through the Azure Blob SDK against a local endpoint that speaks the Blob
// REST API (test/support/fake-azure.ts; the cloud is not reachable from here).
// Proves: the SDK's real requests work with AzureStore (block uploads, ranged downloads,
// paged listing, copy, delete) and the SAS tokens it makes are bound to their blob,
// permissions and expiry (the fake recomputes the signature with the account key).
// Cannot prove: Shared Key request signing (not checked), Entra ID, user-delegation SAS.
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAzure, type FakeAzure } from "../../test/support/fake-azure.js";
import { AzureStore } from "./azure.js";
import { PresignedStore, StoreScopeError } from "./presigned.js";
import { presignedDefinition, signForTask, taskScope } from "./grants.js";
import { StoreRefError } from "./keys.js";

async function bytes(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe("AzureStore against a local Blob REST endpoint", () => {
  let fake: FakeAzure;
  let store: AzureStore;

  beforeAll(async () => {
    fake = await startFakeAzure();
    store = new AzureStore("media", {
      container: "media",
      prefix: "acme/",
      endpoint: fake.endpoint,
      credentials: { accountName: fake.account, accountKey: fake.accountKey },
    });
    await store.container.create();
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it("writes, stats, reads by range, lists with paging, copies and deletes under its prefix", async () => {
    expect((await store.write("in/a.txt", "hello, world")).size).toBe(12);
    expect(fake.blobs.has("media/acme/in/a.txt")).toBe(true);
    expect((await store.stat("in/a.txt"))?.size).toBe(12);
    expect(await store.stat("in/none.txt")).toBeUndefined();
    expect((await bytes(await store.read("in/a.txt"))).toString()).toBe("hello, world");
    expect((await bytes(await store.read("in/a.txt", { start: 7, end: 11 }))).toString()).toBe("world");
    await store.write("in/b.txt", "b");
    await store.write("in/c.txt", "c");
    expect((await store.list("in/")).map((o) => o.key)).toEqual(["in/a.txt", "in/b.txt", "in/c.txt"]);
    expect(await store.copyPrefix("in/", "copy/")).toBe(3);
    expect((await bytes(await store.read("copy/c.txt"))).toString()).toBe("c");
    expect(await store.deletePrefix("copy/")).toBe(3);
    expect(await store.list("copy/")).toEqual([]);
    await expect(store.read("in/none.txt")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("streams a large body as blocks", async () => {
    const big = randomBytes(17 * 1024 * 1024 + 5);
    expect((await store.write("big/master.bin", Readable.from([big.subarray(0, 3 << 20), big.subarray(3 << 20)]))).size).toBe(big.length);
    expect(fake.requests.filter((r) => r.includes("comp=block&")).length).toBeGreaterThanOrEqual(3);
    expect(
      createHash("sha256")
        .update(await bytes(await store.read("big/master.bin")))
        .digest("hex"),
    ).toBe(createHash("sha256").update(big).digest("hex"));
  }, 60_000);

  it("makes SAS URLs bound to one blob, its permissions and an expiry", async () => {
    await store.write("in/secret.txt", "for the task");
    await store.write("in/other.txt", "not for the task");
    const get = await store.signGet("in/secret.txt", 300);
    expect(get.url).not.toContain(fake.accountKey);
    expect(await (await fetch(get.url)).text()).toBe("for the task");
    const ranged = await fetch(get.url, { headers: { range: "bytes=4-6" } });
    expect(ranged.status).toBe(206);
    expect(await ranged.text()).toBe("the");
    expect((await fetch(get.url.replace("secret.txt", "other.txt"))).status).toBe(403);
    expect((await fetch(get.url, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "x" })).status).toBe(403);
    const put = await store.signPut("out/new.txt", 300);
    expect((await fetch(put.url, { method: "PUT", headers: put.headers, body: "from a worker" })).status).toBe(201);
    expect((await bytes(await store.read("out/new.txt"))).toString()).toBe("from a worker");
    expect(
      (await fetch(put.url.replace("out/new.txt", "in/secret.txt"), { method: "PUT", headers: put.headers, body: "overwrite" })).status,
    ).toBe(403);
    const brief = await store.signGet("in/secret.txt", 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await fetch(brief.url)).status).toBe(403);
  });

  it("gives a worker a grant for its keys only; large writes go as signed blocks the manager commits", async () => {
    await store.write("in/master.mov", randomBytes(40_000));
    const task = {
      jobId: "job-a",
      key: "encode:360p",
      attempt: 3,
      spec: { input: "store://media/in/master.mov", output: "store://media/out/x/" },
      deps: {},
    };
    const scope = taskScope(task);
    const def = await presignedDefinition(store, "azure", "media", scope, 600);
    expect(JSON.stringify(def)).not.toContain(fake.accountKey);
    const w = new PresignedStore("media", JSON.parse(JSON.stringify(def)), { signer: (req) => signForTask(store, scope, req, 600) });
    expect((await w.stat("in/master.mov"))?.size).toBe(40_000);
    await expect(w.read("in/a.txt")).rejects.toBeInstanceOf(StoreScopeError);
    const prefix = ".framefleet-staging/job-a/encode:360p/3/";
    await w.write(prefix + "small.txt", "tiny");
    expect((await bytes(await store.read(prefix + "small.txt"))).toString()).toBe("tiny");
    const big = randomBytes(9 * 1024 * 1024);
    await w.write(prefix + "video.mp4", Readable.from([big.subarray(0, 5 << 20), big.subarray(5 << 20)]));
    expect(
      createHash("sha256")
        .update(await bytes(await store.read(prefix + "video.mp4")))
        .digest("hex"),
    ).toBe(createHash("sha256").update(big).digest("hex"));
    await expect(w.write("out/x/master.m3u8", "#EXTM3U")).rejects.toBeInstanceOf(StoreScopeError);
    for (const k of ["../x", "/abs", "a/../../b", "a\u0007b", "x".repeat(1100)]) {
      await expect(store.write(k, "x"), k).rejects.toBeInstanceOf(StoreRefError);
      await expect(store.signGet(k, 60), k).rejects.toBeInstanceOf(StoreRefError);
    }
  });
});
