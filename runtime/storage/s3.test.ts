// S3Store and the presigned grants against a real S3 implementation on loopback:
// OpenStack Swift with s3api (test/support/swift.ts), which checks SigV4 signatures.
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { startSwift, type SwiftServer } from "../../test/support/swift.js";
import { S3Store } from "./s3.js";
import { PresignedStore, StoreScopeError, type GrantSigner } from "./presigned.js";
import { presignedDefinition, signForTask, taskScope, type ScopedTask } from "./grants.js";
import { StoreRefError } from "./keys.js";

async function text(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

async function bytes(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

// scripts/setup.sh installs Swift; without it startSwift fails with the apt line to run, never a silent skip
describe("S3Store against an S3-compatible server (Swift s3api)", () => {
  let swift: SwiftServer;
  let store: S3Store;
  let other: S3Store;

  beforeAll(async () => {
    swift = await startSwift();
    const creds = { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey };
    store = new S3Store("media", { bucket: "media-bucket", prefix: "acme/", endpoint: swift.endpoint, credentials: creds });
    other = new S3Store("raw", { bucket: "media-bucket", endpoint: swift.endpoint, credentials: creds });
    await store.client.send(new CreateBucketCommand({ Bucket: "media-bucket" }));
  }, 180_000);
  afterAll(async () => {
    store?.destroy();
    other?.destroy();
    await swift?.stop();
  });

  it("writes, stats, lists, reads whole and by range, under its prefix only", async () => {
    const info = await store.write("in/hello.txt", "hello, world");
    expect(info.size).toBe(12);
    expect((await store.stat("in/hello.txt"))?.size).toBe(12);
    expect(await store.stat("in/missing.txt")).toBeUndefined();
    expect(await text(await store.read("in/hello.txt"))).toBe("hello, world");
    expect(await text(await store.read("in/hello.txt", { start: 7, end: 11 }))).toBe("world");
    expect(await text(await store.read("in/hello.txt", { start: 7 }))).toBe("world");
    expect((await store.list("in/")).map((o) => o.key)).toEqual(["in/hello.txt"]);
    // the object really lives under the store's prefix
    expect((await other.list("acme/in/")).map((o) => o.key)).toEqual(["acme/in/hello.txt"]);
    await expect(store.read("in/missing.txt")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("uploads a large stream as a multipart upload and reads ranges of it", async () => {
    const size = 12 * 1024 * 1024 + 12345;
    const data = randomBytes(size);
    const seen: number[] = [];
    const s = new S3Store("media", {
      bucket: "media-bucket",
      prefix: "acme/",
      endpoint: swift.endpoint,
      credentials: { accessKeyId: swift.accessKeyId, secretAccessKey: swift.secretAccessKey },
      partSize: 5 * 1024 * 1024,
      onProgress: (p) => seen.push(p.loaded),
    });
    // a stream of unknown length: lib-storage has to split it into parts
    const info = await s.write(
      "big/master.bin",
      Readable.from(
        (function* () {
          for (let i = 0; i < size; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
        })(),
      ),
    );
    expect(info.size).toBe(size);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    const whole = await bytes(await s.read("big/master.bin"));
    expect(createHash("sha256").update(whole).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    const mid = await bytes(await s.read("big/master.bin", { start: 6 * 1024 * 1024, end: 6 * 1024 * 1024 + 99 }));
    expect(mid.equals(data.subarray(6 * 1024 * 1024, 6 * 1024 * 1024 + 100))).toBe(true);
    s.destroy();
  }, 60_000);

  it("copies and deletes a prefix", async () => {
    await store.write("stage/a/1.txt", "one");
    await store.write("stage/a/2.txt", "two");
    expect(await store.copyPrefix("stage/a/", "final/a/")).toBe(2);
    expect(await text(await store.read("final/a/2.txt"))).toBe("two");
    expect(await store.deletePrefix("stage/")).toBe(2);
    expect(await store.list("stage/")).toEqual([]);
  });

  it("presigned GET and PUT work without credentials; a URL with its key altered is refused (403)", async () => {
    await store.write("in/secret.txt", "for the task");
    const get = await store.signGet("in/secret.txt", 300);
    expect(get.url).not.toContain(swift.secretAccessKey);
    const r = await fetch(get.url);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("for the task");
    // ranged read through a presigned URL: Range is not part of the signature
    const rr = await fetch(get.url, { headers: { range: "bytes=4-6" } });
    expect(rr.status).toBe(206);
    expect(await rr.text()).toBe("the");

    await store.write("in/other.txt", "not for the task");
    const altered = get.url.replace("in/secret.txt", "in/other.txt");
    const refused = await fetch(altered);
    expect(refused.status).toBe(403);
    await refused.body?.cancel();

    const put = await store.signPut("out/new.txt", 300);
    const pr = await fetch(put.url, { method: "PUT", body: "written by a worker" });
    expect(pr.status).toBe(200);
    expect(await text(await store.read("out/new.txt"))).toBe("written by a worker");
    // the PUT URL is for that key only
    const elsewhere = await fetch(put.url.replace("out/new.txt", "in/secret.txt"), { method: "PUT", body: "overwrite!" });
    expect(elsewhere.status).toBe(403);
    await elsewhere.body?.cancel();
    expect(await text(await store.read("in/secret.txt"))).toBe("for the task");
    // a GET URL cannot be used to PUT
    const wrongMethod = await fetch(get.url, { method: "PUT", body: "x" });
    expect(wrongMethod.status).toBe(403);
    await wrongMethod.body?.cancel();
  });

  it("an expired presigned URL is refused", async () => {
    await store.write("in/brief.txt", "x");
    const g = await store.signGet("in/brief.txt", 1);
    await new Promise((r) => setTimeout(r, 2100));
    const r = await fetch(g.url);
    expect(r.status).toBe(403);
    await r.body?.cancel();
  });

  describe("a task's grant", () => {
    const task: ScopedTask = {
      jobId: "job-1",
      key: "encode:720p",
      attempt: 2,
      spec: { input: "store://media/in/master.mov", output: "store://media/out/show/" },
      deps: { probe: { state: "succeeded", result: { input: { uri: "store://media/in/master.mov" } } } },
    };
    const pkgTask: ScopedTask = {
      jobId: "job-1",
      key: "package",
      attempt: 1,
      spec: { output: "store://media/out/show/", video: [{ name: "720p", task: "encode:720p" }] },
      deps: {
        "encode:720p": { state: "succeeded", result: { key: ".framefleet-staging/job-1/encode:720p/2/video.mp4" } },
        "encode:1080p": { state: "failed", result: { key: ".framefleet-staging/job-1/encode:1080p/1/video.mp4" } },
      },
    };

    it("covers exactly the input it reads, the staged keys of its succeeded dependencies, and its own staging prefix", () => {
      const s = taskScope(task);
      expect([...(s.reads.get("media") ?? [])]).toEqual(["in/master.mov"]);
      expect(s.writes.get("media")).toBe(".framefleet-staging/job-1/encode:720p/2/");
      const p = taskScope(pkgTask);
      expect([...(p.reads.get("media") ?? [])]).toEqual([".framefleet-staging/job-1/encode:720p/2/video.mp4"]);
      expect(p.writes.get("media")).toBe(".framefleet-staging/job-1/package/1/");
    });

    it("lets a worker read its input (whole, ranged, as a URL for ffmpeg) and write under its prefix, single and multipart, and nothing else", async () => {
      const master = randomBytes(300_000);
      await store.write("in/master.mov", master);
      await store.write("in/someone-elses.mov", "private");
      const scope = taskScope(task);
      const def = await presignedDefinition(store, "s3", "media", scope, 600);
      expect(JSON.stringify(def)).not.toContain(swift.secretAccessKey);
      const calls: string[] = [];
      const signer: GrantSigner = async (req) => {
        calls.push(`${req.op} ${req.key}`);
        return signForTask(store, scope, req, 600);
      };
      // what the worker builds from the JSON it was handed
      const progress: number[] = [];
      const w = new PresignedStore("media", JSON.parse(JSON.stringify(def)), { signer, onProgress: (p) => progress.push(p.loaded) });

      expect((await w.stat("in/master.mov"))?.size).toBe(master.length);
      expect((await bytes(await w.read("in/master.mov"))).equals(master)).toBe(true);
      expect((await bytes(await w.read("in/master.mov", { start: 1000, end: 1999 }))).equals(master.subarray(1000, 2000))).toBe(true);
      const url = w.readUrl("in/master.mov");
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media-bucket\/acme\/in\/master\.mov\?/);

      // outside the grant: refused before any request is made
      await expect(w.read("in/someone-elses.mov")).rejects.toBeInstanceOf(StoreScopeError);
      await expect(w.stat("in/someone-elses.mov")).rejects.toBeInstanceOf(StoreScopeError);
      await expect(w.write("out/show/master.m3u8", "#EXTM3U")).rejects.toBeInstanceOf(StoreScopeError);
      await expect(w.write(".framefleet-staging/job-1/encode:720p/1/video.mp4", "old attempt")).rejects.toBeInstanceOf(StoreScopeError);
      await expect(w.list()).rejects.toBeInstanceOf(StoreScopeError);
      await expect(w.deletePrefix()).rejects.toBeInstanceOf(StoreScopeError);
      // and the manager refuses the same when a worker asks it directly
      await expect(signForTask(store, scope, { store: "media", op: "put", key: "in/master.mov" }, 600)).rejects.toBeInstanceOf(
        StoreScopeError,
      );
      await expect(signForTask(store, scope, { store: "media", op: "get", key: "in/someone-elses.mov" }, 600)).rejects.toBeInstanceOf(
        StoreScopeError,
      );
      await expect(
        signForTask(
          store,
          scope,
          { store: "media", op: "put", key: ".framefleet-staging/job-1/encode:720p/2/../../../in/master.mov" },
          600,
        ),
      ).rejects.toBeInstanceOf(StoreScopeError);

      // a small write: one signed PUT
      const prefix = ".framefleet-staging/job-1/encode:720p/2/";
      await w.write(prefix + "small.txt", "tiny");
      expect(await text(await store.read(prefix + "small.txt"))).toBe("tiny");
      // reading back its own output is in scope (signed on request)
      expect((await w.stat(prefix + "small.txt"))?.size).toBe(4);

      // a large stream: presigned multipart, part by part
      const big = randomBytes(11 * 1024 * 1024 + 7);
      const info = await w.write(
        prefix + "video.mp4",
        Readable.from(
          (function* () {
            for (let i = 0; i < big.length; i += 1 << 20) yield big.subarray(i, i + (1 << 20));
          })(),
        ),
      );
      expect(info.size).toBe(big.length);
      expect(calls.filter((c) => c.startsWith("part "))).toHaveLength(2);
      expect(calls).toContain(`multipart-complete ${prefix}video.mp4`);
      const back = await bytes(await store.read(prefix + "video.mp4"));
      expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(big).digest("hex"));
      expect(progress.at(-1)).toBe(big.length);
      // nothing was written outside the prefix
      expect((await store.list("out/")).filter((o) => o.key.startsWith("out/show/"))).toEqual([]);
    }, 60_000);

    it("refuses hostile keys with nothing read or written", async () => {
      const before = (await other.list("")).map((o) => o.key);
      const hostile = [
        "../etc/passwd",
        "/abs/key",
        "in/../../x",
        "in/\u0000nul",
        "in/\nline",
        "a".repeat(1025),
        "in/x?versionId=1",
        "in/%2e%2e/x",
        "C:/x",
        "in\\x",
      ];
      for (const k of hostile) {
        await expect(store.write(k, "x"), k).rejects.toBeInstanceOf(StoreRefError);
        await expect(store.read(k), k).rejects.toBeInstanceOf(StoreRefError);
        await expect(store.stat(k), k).rejects.toBeInstanceOf(StoreRefError);
        await expect(store.signGet(k, 60), k).rejects.toBeInstanceOf(StoreRefError);
        await expect(signForTask(store, taskScope(task), { store: "media", op: "put", key: k }, 60), k).rejects.toBeInstanceOf(
          StoreRefError,
        );
      }
      expect(() => taskScope({ ...task, spec: { input: "store://media/../x" } })).toThrow(StoreRefError);
      expect((await other.list("")).map((o) => o.key)).toEqual(before);
    });
  });
});
