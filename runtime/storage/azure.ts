// AzureStore: a Store over Azure Blob Storage (block blobs) with the Azure SDK.
//
// - Keys are validated and placed under the definition's prefix in one container.
// - write() streams through uploadStream (Put Block per part, then Put Block List): a
//   blob becomes visible, whole, only when its block list is committed.
// - read() with a range is a ranged Get Blob.
// - UrlSigner: service SAS tokens signed with the account key (read: sp=r; write: sp=cw),
//   for exactly one blob each. Multipart is Azure's block upload: each part is a Put Block
//   under the same blob's SAS with its own block id; the manager commits the block list.
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type BlockBlobClient,
  type ContainerClient,
} from "@azure/storage-blob";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { ObjectInfo, Store } from "./store.js";
import { validateKey } from "./keys.js";
import { checkRange, normalizePrefix } from "./s3.js";
import { expiresAt, PART_SIZE, type MultipartPart, type SignedRequest, type TransferProgress, type UrlSigner } from "./signing.js";

export interface AzureStoreOptions {
  container: string;
  prefix?: string;
  /** blob endpoint: https://<account>.blob.core.windows.net, or http://127.0.0.1:<port>/<account> for an emulator */
  endpoint?: string;
  /** { accountName, accountKey } from the manager's environment */
  credentials?: Record<string, string>;
  onProgress?: TransferProgress;
}

export class AzureStore implements Store, UrlSigner {
  readonly container: ContainerClient;
  readonly prefix: string;
  private readonly key: StorageSharedKeyCredential | undefined;

  constructor(
    readonly name: string,
    private readonly opts: AzureStoreOptions,
  ) {
    this.prefix = normalizePrefix(opts.prefix);
    const account = opts.credentials?.accountName;
    if (!account || !opts.credentials?.accountKey)
      throw new Error(`store ${name}: azure needs accountName and accountKey credentials (a managed-identity path is not wired yet)`);
    this.key = new StorageSharedKeyCredential(account, opts.credentials.accountKey);
    const endpoint = opts.endpoint ?? `https://${account}.blob.core.windows.net`;
    const service = new BlobServiceClient(endpoint, this.key, { retryOptions: { maxTries: 3 } });
    this.container = service.getContainerClient(opts.container);
  }

  private blob(key: string): BlockBlobClient {
    validateKey(key, { allowReserved: true });
    return this.container.getBlockBlobClient(this.prefix + key);
  }

  localPath(): string | undefined {
    return undefined;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const p = await this.blob(key).getProperties();
      return { key, size: Number(p.contentLength ?? 0), modified: p.lastModified ?? new Date(0) };
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  async read(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    checkRange(range);
    try {
      const r = await this.blob(key).download(range?.start ?? 0, range?.end !== undefined ? range.end - range.start + 1 : undefined);
      return r.readableStreamBody as Readable;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) throw Object.assign(new Error(`not an object: ${key}`), { code: "ENOENT" });
      throw e;
    }
  }

  async write(key: string, body: Readable | Buffer | string): Promise<ObjectInfo> {
    const b = this.blob(key);
    const onProgress = this.opts.onProgress
      ? (p: { loadedBytes: number }) => this.opts.onProgress?.({ key, loaded: p.loadedBytes })
      : undefined;
    if (typeof body === "string" || Buffer.isBuffer(body)) {
      const buf = Buffer.from(body);
      await b.uploadData(buf, { blockSize: PART_SIZE, concurrency: 4, onProgress });
    } else {
      await b.uploadStream(body, PART_SIZE, 4, { onProgress });
    }
    const info = await this.stat(key);
    if (!info) throw new Error(`write of ${key} finished but the blob is not there`);
    return info;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix !== "") validateKey(prefix, { prefix: true, allowReserved: true });
    const out: ObjectInfo[] = [];
    for await (const b of this.container.listBlobsFlat({ prefix: this.prefix + prefix })) {
      out.push({
        key: b.name.slice(this.prefix.length),
        size: Number(b.properties.contentLength ?? 0),
        modified: b.properties.lastModified ?? new Date(0),
      });
    }
    return out.sort((a, c) => (a.key < c.key ? -1 : a.key > c.key ? 1 : 0));
  }

  async copyPrefix(fromPrefix: string, toPrefix: string): Promise<number> {
    validateKey(toPrefix, { prefix: true, allowReserved: true });
    let n = 0;
    for (const o of await this.list(fromPrefix)) {
      const poller = await this.blob(toPrefix + o.key.slice(fromPrefix.length)).beginCopyFromURL(this.blob(o.key).url, {
        intervalInMs: 200,
      });
      await poller.pollUntilDone();
      n++;
    }
    return n;
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for (const o of await this.list(prefix)) {
      await this.blob(o.key).deleteIfExists();
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- UrlSigner

  private sas(key: string, permissions: string, seconds: number): string {
    const b = this.blob(key);
    const q = generateBlobSASQueryParameters(
      {
        containerName: this.container.containerName,
        blobName: this.prefix + key,
        permissions: BlobSASPermissions.parse(permissions),
        startsOn: new Date(Date.now() - 60_000),
        expiresOn: new Date(Date.now() + seconds * 1000),
      },
      this.key!,
    );
    return `${b.url}?${q.toString()}`;
  }

  async signGet(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    return { method: "GET", url: this.sas(key, "r", expiresInSeconds), expires: expiresAt(expiresInSeconds) };
  }

  async signPut(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    return {
      method: "PUT",
      url: this.sas(key, "cw", expiresInSeconds),
      headers: { "x-ms-blob-type": "BlockBlob" },
      expires: expiresAt(expiresInSeconds),
    };
  }

  /** block uploads need no server-side start: the id only makes block ids unique to this upload */
  async createMultipart(): Promise<string> {
    return randomBytes(8).toString("hex");
  }

  private blockId(uploadId: string, partNumber: number): string {
    return Buffer.from(`${uploadId}-${String(partNumber).padStart(6, "0")}`).toString("base64");
  }

  async signPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<SignedRequest> {
    if (!/^[0-9a-f]{16}$/.test(uploadId)) throw new Error("not an upload id of this store");
    const url = `${this.sas(key, "w", expiresInSeconds)}&comp=block&blockid=${encodeURIComponent(this.blockId(uploadId, partNumber))}`;
    return { method: "PUT", url, expires: expiresAt(expiresInSeconds) };
  }

  async completeMultipart(key: string, uploadId: string, parts: MultipartPart[]): Promise<void> {
    const ids = [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => this.blockId(uploadId, p.partNumber));
    await this.blob(key).commitBlockList(ids);
  }

  async abortMultipart(): Promise<void> {
    // uncommitted blocks are discarded by Azure after a week; nothing to do
  }
}
