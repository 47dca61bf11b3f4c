// GcsStore: a Store over Google Cloud Storage with Google's client library.
//
// - Keys are validated and placed under the definition's prefix.
// - write() uses a resumable upload for bodies above one part (the library sends it in
//   chunks and can resume), a single multipart/related request otherwise. GCS makes an
//   object visible only when its upload finalises: atomic, as the Store contract asks.
// - read() with a range is a ranged media download.
// - UrlSigner: V4 signed URLs (signed locally with the service account's key); workers write
//   (a single signed PUT takes up to 5 TiB on GCS, streamed, so grants need no multipart).
import { Storage, type File, type StorageOptions } from "@google-cloud/storage";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ObjectInfo, Store } from "./store.js";
import { validateKey } from "./keys.js";
import { checkRange, normalizePrefix } from "./s3.js";
import { expiresAt, PART_SIZE, type MultipartPart, type SignedRequest, type TransferProgress, type UrlSigner } from "./signing.js";

export interface GcsStoreOptions {
  bucket: string;
  prefix?: string;
  /** custom endpoint (an emulator); unauthenticated requests are sent to it, as the library does for emulators */
  endpoint?: string;
  /** service-account fields ({ client_email, private_key }) from the manager's environment; omitted: default credentials */
  credentials?: Record<string, string>;
  projectId?: string;
  onProgress?: TransferProgress;
}

export class GcsStore implements Store, UrlSigner {
  readonly storage: Storage;
  readonly prefix: string;

  constructor(
    readonly name: string,
    private readonly opts: GcsStoreOptions,
  ) {
    this.prefix = normalizePrefix(opts.prefix);
    const so: StorageOptions = { projectId: opts.projectId ?? "framefleet", retryOptions: { autoRetry: true, maxRetries: 3 } };
    if (opts.endpoint) so.apiEndpoint = opts.endpoint;
    if (opts.credentials) so.credentials = { client_email: opts.credentials.client_email, private_key: opts.credentials.private_key };
    this.storage = new Storage(so);
  }

  private file(key: string, prefix = false): File {
    validateKey(key, { prefix, allowReserved: true });
    return this.storage.bucket(this.opts.bucket).file(this.prefix + key);
  }

  localPath(): string | undefined {
    return undefined;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const [m] = await this.file(key).getMetadata();
      return { key, size: Number(m.size ?? 0), modified: new Date(String(m.updated ?? 0)) };
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  async read(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    checkRange(range);
    const f = this.file(key);
    if (!(await this.stat(key))) throw Object.assign(new Error(`not an object: ${key}`), { code: "ENOENT" });
    return f.createReadStream({
      validation: false,
      decompress: false,
      ...(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {}),
    });
  }

  async write(key: string, body: Readable | Buffer | string): Promise<ObjectInfo> {
    const f = this.file(key);
    if (typeof body === "string" || Buffer.isBuffer(body)) {
      const buf = Buffer.from(body);
      await f.save(buf, { resumable: buf.length > PART_SIZE, validation: false });
      this.opts.onProgress?.({ key, loaded: buf.length, total: buf.length });
    } else {
      const ws = f.createWriteStream({ resumable: true, chunkSize: PART_SIZE, validation: false });
      if (this.opts.onProgress) ws.on("progress", (p: { bytesWritten: number }) => this.opts.onProgress?.({ key, loaded: p.bytesWritten }));
      await pipeline(body, ws);
    }
    const info = await this.stat(key);
    if (!info) throw new Error(`write of ${key} finished but the object is not there`);
    return info;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix !== "") validateKey(prefix, { prefix: true, allowReserved: true });
    const [files] = await this.storage.bucket(this.opts.bucket).getFiles({ prefix: this.prefix + prefix, autoPaginate: true });
    return files
      .map((f) => ({
        key: f.name.slice(this.prefix.length),
        size: Number(f.metadata.size ?? 0),
        modified: new Date(String(f.metadata.updated ?? 0)),
      }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async copyPrefix(fromPrefix: string, toPrefix: string): Promise<number> {
    validateKey(toPrefix, { prefix: true, allowReserved: true });
    let n = 0;
    for (const o of await this.list(fromPrefix)) {
      await this.file(o.key).copy(this.file(toPrefix + o.key.slice(fromPrefix.length)));
      n++;
    }
    return n;
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for (const o of await this.list(prefix)) {
      await this.file(o.key).delete({ ignoreNotFound: true });
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- UrlSigner

  private async sign(key: string, action: "read" | "write", seconds: number): Promise<string> {
    const [url] = await this.file(key).getSignedUrl({ version: "v4", action, expires: Date.now() + seconds * 1000 });
    return url;
  }

  async signGet(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    return { method: "GET", url: await this.sign(key, "read", expiresInSeconds), expires: expiresAt(expiresInSeconds) };
  }

  async signPut(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    return { method: "PUT", url: await this.sign(key, "write", expiresInSeconds), expires: expiresAt(expiresInSeconds) };
  }

  // A signed PUT carries up to 5 TiB to GCS in one request, streamed (chunked), so task
  // grants need no multipart there; the library's resumable uploads are used manager-side.
  async createMultipart(): Promise<string> {
    throw new Error("gcs: task grants write with one streamed signed PUT (up to 5 TiB); no multipart");
  }

  async signPart(): Promise<SignedRequest> {
    throw new Error("gcs: no multipart in task grants");
  }

  async completeMultipart(_key: string, _uploadId: string, _parts: MultipartPart[]): Promise<void> {
    throw new Error("gcs: no multipart in task grants");
  }

  async abortMultipart(): Promise<void> {}
}
