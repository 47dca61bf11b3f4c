// FsStore: a Store rooted at a local directory (the embedded default, `.framefleet/`).
//
// - Keys are validated (keys.ts) and resolved under the root; every access checks the
//   real path of the deepest existing ancestor, so a symlink inside the root that points
//   outside it is refused rather than followed.
// - Writes are atomic: a temp file in the destination directory, fsync, then rename(2).
//   Readers see the old object or the new one, never a half-written one.
// - Ranges are HTTP-style and inclusive: { start: 0, end: 99 } is the first 100 bytes.

import { createReadStream, createWriteStream, realpathSync, type Stats } from "node:fs";
import { copyFile, lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ObjectInfo, Store } from "./store.js";
import { StoreRefError, validateKey } from "./keys.js";

/** temp files carry this marker; list() never shows them */
const TMP_MARK = ".ff-tmp-";

export interface FsStoreOptions {
  /** create the root directory if it is missing (default true) */
  create?: boolean;
}

export class FsStore implements Store {
  readonly root: string;
  private realRoot: string | undefined;

  constructor(
    readonly name: string,
    root: string,
    private readonly opts: FsStoreOptions = {},
  ) {
    this.root = path.resolve(root);
  }

  private async rootReal(): Promise<string> {
    if (this.realRoot) return this.realRoot;
    if (this.opts.create !== false) await mkdir(this.root, { recursive: true });
    this.realRoot = await realpath(this.root);
    return this.realRoot;
  }

  private rootRealSync(): string {
    if (this.realRoot) return this.realRoot;
    this.realRoot = realpathSync(this.root);
    return this.realRoot;
  }

  private lexical(key: string, prefix = false): string {
    // the staging area is engine-internal but lives in the store like any object
    validateKey(key, { prefix, allowReserved: true });
    const p = path.resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + path.sep)) throw new StoreRefError("key escapes the store root");
    return p;
  }

  private inside(real: string, rootReal: string): boolean {
    return real === rootReal || real.startsWith(rootReal + path.sep);
  }

  /** Resolves `key` and refuses it when any existing ancestor (or the object itself) resolves outside the root. */
  private async resolve(key: string, prefix = false): Promise<string> {
    const rootReal = await this.rootReal();
    const p = this.lexical(key, prefix);
    let probe = p;
    for (;;) {
      try {
        const real = await realpath(probe);
        if (!this.inside(real, rootReal)) throw new StoreRefError("key resolves outside the store root (symlink)");
        return p;
      } catch (e) {
        if (e instanceof StoreRefError) throw e;
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
        const parent = path.dirname(probe);
        if (parent === probe) throw e;
        probe = parent;
      }
    }
  }

  private resolveSync(key: string): string {
    const rootReal = this.rootRealSync();
    const p = this.lexical(key);
    let probe = p;
    for (;;) {
      try {
        const real = realpathSync(probe);
        if (!this.inside(real, rootReal)) throw new StoreRefError("key resolves outside the store root (symlink)");
        return p;
      } catch (e) {
        if (e instanceof StoreRefError) throw e;
        const parent = path.dirname(probe);
        if (parent === probe) throw e;
        probe = parent;
      }
    }
  }

  localPath(key: string): string | undefined {
    try {
      return this.resolveSync(key);
    } catch (e) {
      if (e instanceof StoreRefError) throw e;
      // the root does not exist yet: nothing to read there
      return path.resolve(this.root, key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const p = await this.resolve(key);
    let st: Stats;
    try {
      st = await stat(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
      throw e;
    }
    if (!st.isFile()) return undefined;
    return { key, size: st.size, modified: st.mtime };
  }

  async read(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const p = await this.resolve(key);
    if (range) {
      if (!Number.isInteger(range.start) || range.start < 0) throw new RangeError("range.start must be a non-negative integer");
      if (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start)) {
        throw new RangeError("range.end must be an integer >= range.start");
      }
    }
    // open first so a missing object rejects here, not later as a stream error
    const fh = await open(p, "r");
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw Object.assign(new Error(`not an object: ${key}`), { code: "ENOENT" });
    }
    return fh.createReadStream({ start: range?.start, end: range?.end, autoClose: true });
  }

  async write(key: string, body: Readable | Buffer | string): Promise<ObjectInfo> {
    const p = await this.resolve(key);
    const dir = path.dirname(p);
    await mkdir(dir, { recursive: true });
    // re-check after mkdir: a symlinked ancestor created concurrently must not be followed
    await this.resolve(key);
    const tmp = path.join(dir, `${TMP_MARK}${path.basename(p).slice(0, 64)}.${randomBytes(6).toString("hex")}`);
    try {
      if (typeof body === "string" || Buffer.isBuffer(body)) {
        const fh = await open(tmp, "wx", 0o644);
        try {
          await fh.writeFile(body);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } else {
        await pipeline(body, createWriteStream(tmp, { flags: "wx", mode: 0o644 }));
        await fsyncFile(tmp);
      }
      await rename(tmp, p);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const st = await stat(p);
    return { key, size: st.size, modified: st.mtime };
  }

  /** Writes a local file into the store (atomically) without reading it into memory. */
  async writeFile(key: string, file: string): Promise<ObjectInfo> {
    return this.write(key, createReadStream(file));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const rootReal = await this.rootReal();
    if (prefix !== "") validateKey(prefix, { prefix: true, allowReserved: true });
    // start walking at the deepest directory the prefix names
    const slash = prefix.lastIndexOf("/");
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : "";
    let start: string;
    try {
      start = dirKey === "" ? rootReal : await this.resolve(dirKey);
    } catch (e) {
      if (e instanceof StoreRefError) throw e;
      return [];
    }
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, keyBase: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return;
        throw e;
      }
      for (const ent of entries) {
        if (ent.name.startsWith(TMP_MARK)) continue;
        const key = keyBase === "" ? ent.name : `${keyBase}/${ent.name}`;
        // prune subtrees that cannot match the prefix
        if (!key.startsWith(prefix) && !prefix.startsWith(key + "/")) continue;
        const full = path.join(dir, ent.name);
        if (ent.isSymbolicLink()) {
          // follow only links that stay inside the root, and never into directories
          let real: string;
          try {
            real = await realpath(full);
          } catch {
            continue;
          }
          if (!this.inside(real, rootReal)) continue;
          const st = await stat(real);
          if (st.isFile() && key.startsWith(prefix)) out.push({ key, size: st.size, modified: st.mtime });
          continue;
        }
        if (ent.isDirectory()) {
          await walk(full, key);
        } else if (ent.isFile() && key.startsWith(prefix)) {
          const st = await lstat(full);
          out.push({ key, size: st.size, modified: st.mtime });
        }
      }
    };
    await walk(start, dirKey);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  async copyPrefix(fromPrefix: string, toPrefix: string): Promise<number> {
    validateKey(toPrefix, { prefix: true, allowReserved: true });
    const objects = await this.list(fromPrefix);
    let n = 0;
    for (const o of objects) {
      const dstKey = toPrefix + o.key.slice(fromPrefix.length);
      const src = await this.resolve(o.key);
      const dst = await this.resolve(dstKey);
      await mkdir(path.dirname(dst), { recursive: true });
      await this.resolve(dstKey);
      const tmp = path.join(path.dirname(dst), `${TMP_MARK}${path.basename(dst).slice(0, 64)}.${randomBytes(6).toString("hex")}`);
      try {
        await copyFile(src, tmp);
        await fsyncFile(tmp);
        await rename(tmp, dst);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      n++;
    }
    return n;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    let n = 0;
    const dirs = new Set<string>();
    for (const o of objects) {
      const p = await this.resolve(o.key);
      try {
        await unlink(p);
        n++;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      dirs.add(path.dirname(p));
    }
    // remove directories left empty, deepest first, never the root
    const rootReal = await this.rootReal();
    const all = new Set<string>();
    for (const d of dirs) {
      for (let x = d; x !== this.root && x !== rootReal && x.startsWith(this.root + path.sep); x = path.dirname(x)) all.add(x);
    }
    for (const d of [...all].sort((a, b) => b.length - a.length)) {
      const rel = path.relative(this.root, d).split(path.sep).join("/");
      if (!(rel + "/").startsWith(prefix) && !rel.startsWith(prefix)) continue;
      try {
        await rmdir(d);
      } catch {
        /* not empty or already gone */
      }
    }
    return n;
  }
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Streams an object to a local file (used when a store has no localPath). */
export async function downloadTo(store: Store, key: string, file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await pipeline(await store.read(key), createWriteStream(file));
}

/** Uploads a local file through any Store. */
export async function uploadFrom(store: Store, key: string, file: string): Promise<ObjectInfo> {
  return store.write(key, createReadStream(file));
}
