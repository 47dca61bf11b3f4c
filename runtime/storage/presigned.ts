// PresignedStore: what a worker holds instead of a cloud store. It has no credentials:
//
// - reads: a map from each key the task may read (its input, and the staged objects of
//   the tasks it depends on) to a signed GET request made by the manager at assignment.
//   Ranged reads send a Range header (not part of the signature on S3, GCS or Azure).
//   `stat` is a one-byte ranged GET (a presigned S3/GCS URL is bound to its method, so
//   HEAD would be refused), read from Content-Range and Last-Modified.
// - writes: only under the attempt's staging prefix. Each write asks the manager to sign
//   it (the `GrantSigner`, over the worker's own task-scoped mTLS connection): the manager
//   checks the lease is current and the key is under this attempt's prefix, then answers a
//   signed PUT, or starts a multipart upload and signs each part as the worker reaches it.
//   Bodies above one part are streamed part by part: never held whole in memory.
// - `readUrl(key)`: the signed GET URL itself, for ffmpeg to read over HTTP(S) with ranged
//   requests, so a large master never has to be copied to the worker's disk.
// - list/copyPrefix/deletePrefix are the manager's (commit, cleanup): refused here.
import { Readable } from "node:stream";
import type { ObjectInfo, Store } from "./store.js";
import { StoreRefError, validateKey } from "./keys.js";
import { checkRange } from "./range.js";
import { PART_SIZE, type MultipartPart, type SignedRequest, type TransferProgress } from "./signing.js";

export interface PresignedDefinition {
  kind: "presigned";
  /** the cloud behind the URLs (informational: the requests are complete as signed) */
  backend: "s3" | "gcs" | "azure";
  /** key -> signed GET, for exactly the keys this task reads */
  get: Record<string, SignedRequest>;
  /** the attempt's staging prefix; writes under it are signed on request */
  write?: { prefix: string; partSize?: number };
  /** when the grant ends (the URLs' expiry) */
  expires: string;
}

export type SignOp = "get" | "put" | "multipart-create" | "part" | "multipart-complete" | "multipart-abort";

export interface SignRequestBody {
  store: string;
  op: SignOp;
  key: string;
  uploadId?: string;
  partNumber?: number;
  parts?: MultipartPart[];
}

export interface SignResponseBody {
  request?: SignedRequest;
  uploadId?: string;
}

/** Asks the manager to sign one request for this attempt (see rpc/server.ts, Worker.Sign). */
export type GrantSigner = (req: SignRequestBody) => Promise<SignResponseBody>;

export class StoreScopeError extends StoreRefError {
  constructor(reason: string) {
    super(reason);
    this.name = "StoreScopeError";
  }
}

export class PresignedStore implements Store {
  private readonly written = new Map<string, ObjectInfo>();

  constructor(
    readonly name: string,
    private readonly def: PresignedDefinition,
    private readonly opts: { signer?: GrantSigner; onProgress?: TransferProgress; fetch?: typeof fetch } = {},
  ) {
    for (const k of Object.keys(def.get)) validateKey(k, { allowReserved: true });
    if (def.write) validateKey(def.write.prefix, { prefix: true, allowReserved: true });
  }

  private get fetch(): typeof fetch {
    return this.opts.fetch ?? globalThis.fetch;
  }

  private inWritePrefix(key: string): boolean {
    return !!this.def.write && key.startsWith(this.def.write.prefix);
  }

  private async getRequest(key: string): Promise<SignedRequest> {
    validateKey(key, { allowReserved: true });
    const g = this.def.get[key];
    // a granted read about to expire is signed afresh (the manager re-checks the lease and scope)
    if (g && (Date.parse(g.expires) - Date.now() > 60_000 || !this.opts.signer)) return g;
    if ((g || this.inWritePrefix(key)) && this.opts.signer) {
      const r = await this.opts.signer({ store: this.name, op: "get", key });
      if (r.request) return r.request;
    }
    throw new StoreScopeError(`store ${this.name}: key ${JSON.stringify(key.slice(0, 200))} is outside this task's grant`);
  }

  localPath(): string | undefined {
    return undefined;
  }

  /** A URL ffmpeg can read directly (ranged HTTP GETs); only for keys granted at assignment. */
  readUrl(key: string): string | undefined {
    validateKey(key, { allowReserved: true });
    const g = this.def.get[key];
    return g && g.method === "GET" && !g.headers ? g.url : undefined;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const req = await this.getRequest(key);
    const res = await this.fetch(req.url, { method: "GET", headers: { ...req.headers, range: "bytes=0-0" } });
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    if (res.status === 416) {
      // an empty object: nothing satisfies bytes=0-0
      return { key, size: 0, modified: new Date(res.headers.get("last-modified") ?? 0) };
    }
    if (res.status !== 200 && res.status !== 206) throw httpError(this.name, "stat", key, res.status);
    const cr = res.headers.get("content-range");
    const total = cr ? Number(/\/(\d+)$/.exec(cr)?.[1]) : Number(res.headers.get("content-length"));
    return { key, size: Number.isFinite(total) ? total : 0, modified: new Date(res.headers.get("last-modified") ?? 0) };
  }

  async read(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    checkRange(range);
    const req = await this.getRequest(key);
    const headers: Record<string, string> = { ...req.headers };
    if (range) headers.range = `bytes=${range.start}-${range.end ?? ""}`;
    const res = await this.fetch(req.url, { method: "GET", headers });
    if (res.status === 404) {
      await res.body?.cancel();
      throw Object.assign(new Error(`not an object: ${key}`), { code: "ENOENT" });
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw httpError(this.name, "read", key, res.status);
    }
    if (!res.body) return Readable.from([]);
    const total = Number(res.headers.get("content-length") ?? NaN);
    const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
    if (this.opts.onProgress) {
      let loaded = 0;
      const onProgress = this.opts.onProgress;
      body.on("data", (c: Buffer) => {
        loaded += c.length;
        onProgress({ key, loaded, total: Number.isFinite(total) ? total : undefined });
      });
    }
    return body;
  }

  async write(key: string, body: Readable | Buffer | string): Promise<ObjectInfo> {
    validateKey(key, { allowReserved: true });
    if (!this.inWritePrefix(key))
      throw new StoreScopeError(
        `store ${this.name}: this task may write only under ${this.def.write?.prefix ?? "(nothing)"}, not ${JSON.stringify(key.slice(0, 200))}`,
      );
    const signer = this.opts.signer;
    if (!signer) throw new Error(`store ${this.name}: no signer to write with`);
    const partSize = Math.max(5 * 1024 * 1024, this.def.write?.partSize ?? PART_SIZE);
    const progress = this.opts.onProgress;
    let size = 0;

    if (typeof body === "string" || Buffer.isBuffer(body)) {
      const buf = Buffer.from(body);
      if (buf.length <= partSize) {
        await this.putOnce(key, buf);
        size = buf.length;
        progress?.({ key, loaded: size, total: size });
        return this.remember(key, size);
      }
      body = Readable.from(chunksOf(buf, partSize));
    }

    if (this.def.backend === "gcs") {
      // GCS takes up to 5 TiB in one signed PUT: stream it (chunked), no multipart
      const { request } = await signer({ store: this.name, op: "put", key });
      if (!request) throw new Error(`store ${this.name}: the manager did not sign a PUT for ${key}`);
      const counted = (body as Readable).on("data", (c: Buffer) => {
        size += c.length;
        progress?.({ key, loaded: size });
      });
      const res = await this.fetch(request.url, {
        method: "PUT",
        headers: { ...request.headers },
        body: Readable.toWeb(counted) as unknown as Blob,
        duplex: "half",
      } as RequestInit);
      await res.body?.cancel();
      if (res.status < 200 || res.status > 299) throw httpError(this.name, "write", key, res.status);
      return this.remember(key, size);
    }
    // stream: the first part decides between one PUT and a multipart upload
    const parts = partsOf(body as Readable, partSize);
    const first = await parts.next();
    const firstBuf = first.done ? Buffer.alloc(0) : first.value;
    const second = first.done ? { done: true as const, value: undefined } : await parts.next();
    if (second.done) {
      await this.putOnce(key, firstBuf);
      progress?.({ key, loaded: firstBuf.length, total: firstBuf.length });
      return this.remember(key, firstBuf.length);
    }
    const { uploadId } = await signer({ store: this.name, op: "multipart-create", key });
    if (!uploadId) throw new Error(`store ${this.name}: the manager started no multipart upload for ${key}`);
    const done: MultipartPart[] = [];
    try {
      let n = 0;
      const send = async (buf: Buffer) => {
        n++;
        const { request } = await signer({ store: this.name, op: "part", key, uploadId, partNumber: n });
        if (!request) throw new Error(`store ${this.name}: part ${n} of ${key} was not signed`);
        const res = await this.fetch(request.url, {
          method: request.method,
          headers: { ...request.headers, "content-length": String(buf.length) },
          body: buf,
        });
        await res.body?.cancel();
        if (res.status < 200 || res.status > 299) throw httpError(this.name, `upload part ${n} of`, key, res.status);
        done.push({ partNumber: n, etag: res.headers.get("etag") ?? res.headers.get("x-ff-part-id") ?? "" });
        size += buf.length;
        progress?.({ key, loaded: size });
      };
      await send(firstBuf);
      await send(second.value);
      for (let p = await parts.next(); !p.done; p = await parts.next()) await send(p.value);
      await signer({ store: this.name, op: "multipart-complete", key, uploadId, parts: done });
    } catch (err) {
      await signer({ store: this.name, op: "multipart-abort", key, uploadId }).catch(() => {});
      throw err;
    }
    progress?.({ key, loaded: size, total: size });
    return this.remember(key, size);
  }

  private async putOnce(key: string, buf: Buffer): Promise<void> {
    const { request } = await this.opts.signer!({ store: this.name, op: "put", key });
    if (!request) throw new Error(`store ${this.name}: the manager did not sign a PUT for ${key}`);
    const res = await this.fetch(request.url, {
      method: "PUT",
      headers: { ...request.headers, "content-length": String(buf.length) },
      body: buf,
    });
    await res.body?.cancel();
    if (res.status < 200 || res.status > 299) throw httpError(this.name, "write", key, res.status);
  }

  private remember(key: string, size: number): ObjectInfo {
    const info = { key, size, modified: new Date() };
    this.written.set(key, info);
    return info;
  }

  async list(): Promise<ObjectInfo[]> {
    throw new StoreScopeError(`store ${this.name}: listing is not part of a task's grant`);
  }

  async copyPrefix(): Promise<number> {
    throw new StoreScopeError(`store ${this.name}: copying is the manager's (commit), not a task's`);
  }

  async deletePrefix(): Promise<number> {
    throw new StoreScopeError(`store ${this.name}: deleting is the manager's (cleanup), not a task's`);
  }
}

function httpError(store: string, what: string, key: string, status: number): Error {
  const why = status === 403 ? " (refused: outside the grant, or the grant expired)" : "";
  return Object.assign(new Error(`store ${store}: ${what} ${key} answered HTTP ${status}${why}`), { status });
}

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Re-chunks a stream into parts of exactly `size` bytes (the last may be shorter). */
async function* partsOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let have = 0;
  for await (const chunk of stream) {
    let c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    while (have + c.length >= size) {
      const take = size - have;
      pending.push(c.subarray(0, take));
      yield Buffer.concat(pending);
      pending = [];
      have = 0;
      c = c.subarray(take);
    }
    if (c.length > 0) {
      pending.push(c);
      have += c.length;
    }
  }
  if (have > 0) yield Buffer.concat(pending);
}
