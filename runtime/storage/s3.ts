// S3Store: a Store over Amazon S3 or any S3-compatible endpoint (MinIO, R2, Ceph RGW,
// OpenStack Swift's s3api) through the AWS SDK v3.
//
// - Keys are validated (keys.ts) and placed under the definition's prefix; nothing
//   outside `<bucket>/<prefix>` is ever addressed.
// - write() streams through lib-storage's Upload: multipart in PART_SIZE parts for large
//   bodies (a 200 GB master never sits whole in memory or on disk), one PUT for small ones.
//   S3 makes an object visible only when its PUT or CompleteMultipartUpload succeeds, so
//   writes are atomic as the Store contract asks.
// - read() with a range is a ranged GetObject (HTTP Range, inclusive ends).
// - It is also a UrlSigner: the manager presigns task-scoped GET/PUT/UploadPart requests
//   with it (signing.ts); workers never see the credentials.
import { checkRange } from "./range.js";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { Readable } from "node:stream";
import type { ObjectInfo, Store } from "./store.js";
import { validateKey } from "./keys.js";
import { expiresAt, PART_SIZE, type MultipartPart, type SignedRequest, type TransferProgress, type UrlSigner } from "./signing.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** every key lives under this prefix ("" or ending in "/") */
  prefix?: string;
  region?: string;
  /** S3-compatible endpoint (path-style addressing is used when set) */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** omitted: the SDK's default chain (instance role, workload identity, env) */
  credentials?: S3Credentials;
  partSize?: number;
  onProgress?: TransferProgress;
}

export class S3Store implements Store, UrlSigner {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partSize: number;

  constructor(
    readonly name: string,
    private readonly opts: S3StoreOptions,
  ) {
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix);
    this.partSize = Math.max(5 * 1024 * 1024, opts.partSize ?? PART_SIZE);
    const cfg: S3ClientConfig = {
      region: opts.region ?? "us-east-1",
      forcePathStyle: opts.forcePathStyle ?? !!opts.endpoint,
      // checksums the SDK adds by default (CRC32 trailers) are not understood by every S3-compatible server
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
    if (opts.endpoint) cfg.endpoint = opts.endpoint;
    if (opts.credentials) cfg.credentials = opts.credentials;
    this.client = new S3Client(cfg);
  }

  /** the object's full key in the bucket */
  objectKey(key: string, prefix = false): string {
    validateKey(key, { prefix, allowReserved: true });
    return this.prefix + key;
  }

  private rel(full: string): string {
    return full.slice(this.prefix.length);
  }

  localPath(): string | undefined {
    return undefined;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: Number(r.ContentLength ?? 0), modified: r.LastModified ?? new Date(0) };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async read(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const Key = this.objectKey(key);
    checkRange(range);
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: range ? `bytes=${range.start}-${range.end ?? ""}` : undefined }),
      );
      return r.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) throw Object.assign(new Error(`not an object: ${key}`), { code: "ENOENT" });
      throw e;
    }
  }

  async write(key: string, body: Readable | Buffer | string, opts: { onProgress?: TransferProgress } = {}): Promise<ObjectInfo> {
    const Key = this.objectKey(key);
    const progress = opts.onProgress ?? this.opts.onProgress;
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: body },
      partSize: this.partSize,
      queueSize: 4,
      leavePartsOnError: false,
    });
    if (progress) upload.on("httpUploadProgress", (p) => progress({ key, loaded: p.loaded ?? 0, total: p.total }));
    await upload.done();
    const info = await this.stat(key);
    if (!info) throw new Error(`write of ${key} finished but the object is not there`);
    return info;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (prefix !== "") validateKey(prefix, { prefix: true, allowReserved: true });
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) {
        if (!o.Key) continue;
        out.push({ key: this.rel(o.Key), size: Number(o.Size ?? 0), modified: o.LastModified ?? new Date(0) });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  async copyPrefix(fromPrefix: string, toPrefix: string): Promise<number> {
    validateKey(toPrefix, { prefix: true, allowReserved: true });
    let n = 0;
    for (const o of await this.list(fromPrefix)) {
      const dst = this.objectKey(toPrefix + o.key.slice(fromPrefix.length));
      if (o.size > 5 * 1024 * 1024 * 1024) {
        // CopyObject stops at 5 GB: stream it through a multipart upload instead
        await this.write(toPrefix + o.key.slice(fromPrefix.length), await this.read(o.key));
      } else {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: dst,
            CopySource: `${this.bucket}/${encodeURIComponent(this.prefix + o.key).replace(/%2F/g, "/")}`,
          }),
        );
      }
      n++;
    }
    return n;
  }

  /** false once the endpoint refused DeleteObjects (some S3-compatible servers want Content-MD5, which SDK v3 no longer sends) */
  private batchDelete = true;

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    let n = 0;
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      if (this.batchDelete) {
        try {
          const r = await this.client.send(
            new DeleteObjectsCommand({
              Bucket: this.bucket,
              Delete: { Objects: batch.map((o) => ({ Key: this.prefix + o.key })), Quiet: true },
            }),
          );
          if (r.Errors?.length)
            throw new Error(
              `deleting under ${prefix}: ${r.Errors.length} objects were not deleted (${r.Errors[0]?.Code}: ${r.Errors[0]?.Message})`,
            );
          n += batch.length;
          continue;
        } catch (e) {
          const name = (e as { name?: string }).name;
          if (name !== "InvalidRequest" && name !== "NotImplemented" && name !== "MissingContentMD5") throw e;
          this.batchDelete = false;
        }
      }
      for (const o of batch) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + o.key }));
        n++;
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- UrlSigner

  async signGet(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), {
      expiresIn: expiresInSeconds,
    });
    return { method: "GET", url, expires: expiresAt(expiresInSeconds) };
  }

  async signPut(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    const url = await getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), {
      expiresIn: expiresInSeconds,
    });
    return { method: "PUT", url, expires: expiresAt(expiresInSeconds) };
  }

  async createMultipart(key: string): Promise<string> {
    const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    if (!r.UploadId) throw new Error("CreateMultipartUpload answered no UploadId");
    return r.UploadId;
  }

  async signPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<SignedRequest> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) throw new RangeError("part number must be 1..10000");
    const url = await getSignedUrl(
      this.client,
      new UploadPartCommand({ Bucket: this.bucket, Key: this.objectKey(key), UploadId: uploadId, PartNumber: partNumber }),
      { expiresIn: expiresInSeconds },
    );
    return { method: "PUT", url, expires: expiresAt(expiresInSeconds) };
  }

  async completeMultipart(key: string, uploadId: string, parts: MultipartPart[]): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })),
        },
      }),
    );
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key), UploadId: uploadId }));
  }

  destroy(): void {
    this.client.destroy();
  }
}

export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return "";
  validateKey(prefix, { prefix: true });
  return prefix.endsWith("/") ? prefix : prefix + "/";
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === "NotFound" || err?.name === "NoSuchKey" || err?.$metadata?.httpStatusCode === 404;
}

export { checkRange };
