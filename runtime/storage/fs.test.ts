import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { FsStore } from "./fs.js";
import { StoreRefError } from "./keys.js";

async function text(r: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

let dir: string;
let root: string;
let store: FsStore;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ff-fs-"));
  root = path.join(dir, "root");
  store = new FsStore("media", root);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("FsStore", () => {
  it("writes, stats, reads and lists objects", async () => {
    const info = await store.write("a/b/c.txt", "hello");
    expect(info.size).toBe(5);
    await store.write("a/b/d.txt", Buffer.from("world!"));
    await store.write("a/e.txt", Readable.from([Buffer.from("stream"), Buffer.from("ed")]));
    expect((await store.stat("a/b/c.txt"))?.size).toBe(5);
    expect(await store.stat("a/missing")).toBeUndefined();
    expect(await store.stat("a/b")).toBeUndefined(); // a directory is not an object
    expect(await text(await store.read("a/e.txt"))).toBe("streamed");
    expect((await store.list("a/")).map((o) => o.key)).toEqual(["a/b/c.txt", "a/b/d.txt", "a/e.txt"]);
    expect((await store.list("a/b")).map((o) => o.key)).toEqual(["a/b/c.txt", "a/b/d.txt"]);
    expect((await store.list("a/b/c")).map((o) => o.key)).toEqual(["a/b/c.txt"]);
    expect(await store.list("zzz/")).toEqual([]);
    expect(store.localPath("a/b/c.txt")).toBe(path.join(root, "a/b/c.txt"));
  });

  it("reads inclusive byte ranges and rejects a missing object up front", async () => {
    await store.write("r.bin", "0123456789");
    expect(await text(await store.read("r.bin", { start: 2, end: 5 }))).toBe("2345");
    expect(await text(await store.read("r.bin", { start: 7 }))).toBe("789");
    await expect(store.read("nope.bin")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(store.read("r.bin", { start: 5, end: 2 })).rejects.toThrow(RangeError);
  });

  it("writes atomically: a failing stream leaves the old object and no temp file", async () => {
    await store.write("x/obj", "old");
    const failing = new Readable({
      read() {
        this.push(Buffer.from("partial"));
        this.destroy(new Error("network dropped"));
      },
    });
    await expect(store.write("x/obj", failing)).rejects.toThrow(/network dropped/);
    expect(await readFile(path.join(root, "x/obj"), "utf8")).toBe("old");
    expect(await readdir(path.join(root, "x"))).toEqual(["obj"]);
  });

  it("refuses hostile keys", async () => {
    await expect(store.write("../escape", "x")).rejects.toBeInstanceOf(StoreRefError);
    await expect(store.write("/abs", "x")).rejects.toBeInstanceOf(StoreRefError);
    await expect(store.read("a\\b")).rejects.toBeInstanceOf(StoreRefError);
    await expect(store.stat("a/../../x")).rejects.toBeInstanceOf(StoreRefError);
    expect(() => store.localPath("../x")).toThrow(StoreRefError);
  });

  it("refuses keys that escape the root through a symlink", async () => {
    const outside = path.join(dir, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(path.join(outside, "secret"), "s3cret");
    await mkdir(root, { recursive: true });
    await symlink(outside, path.join(root, "link"));
    await symlink(path.join(outside, "secret"), path.join(root, "filelink"));
    await expect(store.read("link/secret")).rejects.toThrow(/outside the store root/);
    await expect(store.read("filelink")).rejects.toThrow(/outside the store root/);
    await expect(store.write("link/new", "x")).rejects.toThrow(/outside the store root/);
    await expect(store.write("link/deeper/new", "x")).rejects.toThrow(/outside the store root/);
    expect(() => store.localPath("link/secret")).toThrow(/outside the store root/);
    expect(await readdir(outside)).toEqual(["secret"]);
    // listing never follows links out of the root
    expect((await store.list("")).map((o) => o.key)).toEqual([]);
  });

  it("copies and deletes prefixes idempotently", async () => {
    await store.write("stage/1/a.m3u8", "A");
    await store.write("stage/1/v/seg1.m4s", "S1");
    await store.write("stage/10/other", "O");
    expect(await store.copyPrefix("stage/1/", "out/")).toBe(2);
    expect(await store.copyPrefix("stage/1/", "out/")).toBe(2); // again: same result
    expect(await text(await store.read("out/v/seg1.m4s"))).toBe("S1");
    expect((await store.list("out/")).map((o) => o.key)).toEqual(["out/a.m3u8", "out/v/seg1.m4s"]);
    expect(await store.deletePrefix("stage/1/")).toBe(2);
    expect(await store.deletePrefix("stage/1/")).toBe(0);
    expect((await store.list("stage/")).map((o) => o.key)).toEqual(["stage/10/other"]);
    expect(await readdir(path.join(root, "stage"))).toEqual(["10"]); // empty dirs removed
  });
});
