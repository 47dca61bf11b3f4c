// AzureStore: a Store over Azure Blob Storage (block blobs) with the Azure SDK.
//
// - Keys are validated and placed under the definition's prefix in one container.
// - write() streams through uploadStream (Put Block per part, then Put Block List): a
//   blob becomes visible, whole, only when its block list is committed.
// - read() with a range is a ranged Get Blob.
// - UrlSigner: SAS tokens for exactly one blob each (read: sp=r; write: sp=cw). Multipart
//   is Azure's block upload: each part is a Put Block under the same blob's SAS with its
//   own block id; the manager commits the block list.
//
// Credentials (azureCredential below), each a different trade-off:
// - account key ({ accountName, accountKey }): Shared Key requests; task grants are
//   service SAS signed with the key.
// - Azure AD / Entra ID: a client secret ({ tenantId, clientId, clientSecret }), a
//   user-assigned managed identity ({ clientId }) or, with no credentials, the
//   DefaultAzureCredential chain. Requests carry bearer tokens; task grants are
//   user-delegation SAS signed with a user-delegation key the manager fetches with its
//   token (Get User Delegation Key) and caches until shortly before it expires. This is
//   the one to prefer: no long-lived account key exists anywhere.
// - a SAS token ({ sasToken }, container-scoped, held by the manager): the manager's own
//   requests work (commit, cleanup, watch folders), but a SAS cannot derive a narrower
//   SAS, so task grants are refused: handing the container's token to a worker would let
//   it touch every blob.
import {
  AnonymousCredential,
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  newPipeline,
  StorageSharedKeyCredential,
  type BlockBlobClient,
  type ContainerClient,
  type UserDelegationKey,
} from "@azure/storage-blob";
import type { TokenCredential } from "@azure/core-auth";
import { tlsPolicy } from "@azure/core-rest-pipeline";
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
  /**
   * From the manager's environment: { accountName, accountKey } | { sasToken } |
   * { tenantId, clientId, clientSecret } | { clientId } (managed identity); omitted:
   * DefaultAzureCredential (then `endpoint` names the account).
   */
  credentials?: Record<string, string>;
  /** an Azure AD credential built by the caller (tests: a token Azurite accepts) */
  tokenCredential?: TokenCredential;
  /** extra trusted CA (PEM) for an endpoint with a private certificate (an emulator over TLS) */
  caPem?: string;
  onProgress?: TransferProgress;
}

/** Which credential fields make a usable Azure credential; undefined when they do, else the problem. */
export function azureCredentialProblem(fields: string[]): { field: string; reason: string } | undefined {
  const has = (f: string) => fields.includes(f);
  if (has("accountKey")) return has("accountName") ? undefined : { field: "accountName", reason: "an account key needs accountName" };
  if (has("accountName")) return { field: "accountKey", reason: "accountName needs accountKey (or use sasToken or Azure AD)" };
  if (has("sasToken")) return undefined;
  if (has("clientSecret") || has("tenantId")) {
    const missing = ["tenantId", "clientId", "clientSecret"].find((f) => !has(f));
    return missing ? { field: missing, reason: "an Azure AD client secret needs tenantId, clientId and clientSecret" } : undefined;
  }
  if (has("clientId")) return undefined;
  return {
    field: "accountKey",
    reason: "name accountName+accountKey, sasToken, tenantId+clientId+clientSecret, or clientId (managed identity)",
  };
}

/** The storage account an endpoint names: <account>.blob.core.windows.net, or the first path segment of an emulator URL. */
export function accountFromEndpoint(endpoint: string): string | undefined {
  const u = new URL(endpoint);
  const host = /^([a-z0-9]{3,24})\.blob\./.exec(u.hostname);
  if (host) return host[1];
  const seg = u.pathname.split("/").filter(Boolean)[0];
  return seg && /^[a-z0-9]{3,24}$/.test(seg) ? seg : undefined;
}

// Grants are signed as this SAS version, not the SDK's newest: it is the newest whose
// user-delegation string-to-sign Azurite verifies (the SDK's 2026-04-06 adds fields Azurite
// 3.35 does not know), and Azure accepts every version up to its own.
const SAS_VERSION = "2025-07-05";

type AzureAuth =
  { kind: "key"; key: StorageSharedKeyCredential } | { kind: "sas"; token: string } | { kind: "ad"; credential: TokenCredential };

/** Loads @azure/identity on the first token request: it is large, and only the AD path of the manager needs it. */
function lazyIdentity(make: (id: typeof import("@azure/identity")) => TokenCredential): TokenCredential {
  let cred: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      cred ??= import("@azure/identity").then(make);
      return (await cred).getToken(scopes, options);
    },
  };
}

function azureAuth(name: string, opts: AzureStoreOptions): AzureAuth {
  const c = opts.credentials ?? {};
  if (opts.tokenCredential) return { kind: "ad", credential: opts.tokenCredential };
  const problem = opts.credentials ? azureCredentialProblem(Object.keys(c)) : undefined;
  if (problem) throw new Error(`store ${name}: azure credentials: ${problem.field}: ${problem.reason}`);
  if (c.accountKey) return { kind: "key", key: new StorageSharedKeyCredential(c.accountName!, c.accountKey) };
  if (c.sasToken) return { kind: "sas", token: c.sasToken.replace(/^\?/, "") };
  if (c.clientSecret) {
    const [tenantId, clientId, clientSecret] = [c.tenantId ?? "", c.clientId ?? "", c.clientSecret];
    return { kind: "ad", credential: lazyIdentity((id) => new id.ClientSecretCredential(tenantId, clientId, clientSecret)) };
  }
  if (c.clientId) {
    const clientId = c.clientId;
    return { kind: "ad", credential: lazyIdentity((id) => new id.ManagedIdentityCredential({ clientId })) };
  }
  return { kind: "ad", credential: lazyIdentity((id) => new id.DefaultAzureCredential()) };
}

export class AzureStore implements Store, UrlSigner {
  readonly container: ContainerClient;
  readonly prefix: string;
  private readonly auth: AzureAuth;
  private readonly service: BlobServiceClient;
  private readonly account: string;
  private delegation: { key: UserDelegationKey; expires: number } | undefined;
  private delegationPending: Promise<UserDelegationKey> | undefined;

  constructor(
    readonly name: string,
    private readonly opts: AzureStoreOptions,
  ) {
    this.prefix = normalizePrefix(opts.prefix);
    this.auth = azureAuth(name, opts);
    const account = opts.credentials?.accountName ?? (opts.endpoint ? accountFromEndpoint(opts.endpoint) : undefined);
    if (!account)
      throw new Error(`store ${name}: azure needs an endpoint naming the account (https://<account>.blob.core.windows.net) or accountName`);
    this.account = account;
    const endpoint = opts.endpoint ?? `https://${account}.blob.core.windows.net`;
    const credential =
      this.auth.kind === "key" ? this.auth.key : this.auth.kind === "ad" ? this.auth.credential : new AnonymousCredential();
    const pipeline = newPipeline(credential, { retryOptions: { maxTries: 3 } });
    this.service = new BlobServiceClient(this.auth.kind === "sas" ? `${endpoint}?${this.auth.token}` : endpoint, pipeline);
    if (opts.caPem) {
      // the SDK has no trusted-CA option; its core pipeline (shared by every client made
      // from this service client) takes a TLS policy
      const core = (this.service as unknown as { storageClientContext?: { pipeline?: { addPolicy?(p: unknown): void } } })
        .storageClientContext?.pipeline;
      if (!core?.addPolicy) throw new Error(`store ${name}: cannot add a trusted CA to this version of @azure/storage-blob`);
      core.addPolicy(tlsPolicy({ ca: opts.caPem }));
    }
    this.container = this.service.getContainerClient(opts.container);
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

  /** A user-delegation key valid for at least `seconds` more (Azure allows keys of up to 7 days). */
  private async delegationKey(seconds: number): Promise<UserDelegationKey> {
    const needUntil = Date.now() + (seconds + 300) * 1000;
    if (this.delegation && this.delegation.expires > needUntil) return this.delegation.key;
    this.delegationPending ??= (async () => {
      const expires = Date.now() + 7 * 24 * 3600_000 - 600_000;
      const key = await this.service.getUserDelegationKey(new Date(Date.now() - 60_000), new Date(expires));
      this.delegation = { key, expires };
      return key;
    })().finally(() => (this.delegationPending = undefined));
    return this.delegationPending;
  }

  private async sas(key: string, permissions: string, seconds: number): Promise<string> {
    const b = this.blob(key);
    const values = {
      version: SAS_VERSION,
      containerName: this.container.containerName,
      blobName: this.prefix + key,
      permissions: BlobSASPermissions.parse(permissions),
      startsOn: new Date(Date.now() - 60_000),
      expiresOn: new Date(Date.now() + seconds * 1000),
    };
    let q: string;
    if (this.auth.kind === "key") q = generateBlobSASQueryParameters(values, this.auth.key).toString();
    else if (this.auth.kind === "ad")
      q = generateBlobSASQueryParameters(values, await this.delegationKey(seconds), this.account).toString();
    else
      throw new Error(
        `store ${this.name}: a SAS-token credential cannot sign task-scoped grants (a SAS cannot derive a narrower one); use an account key or Azure AD`,
      );
    // the blob URL carries the manager's own SAS when that is its credential; a grant carries only its own
    return `${b.url.split("?")[0]}?${q}`;
  }

  async signGet(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    return { method: "GET", url: await this.sas(key, "r", expiresInSeconds), expires: expiresAt(expiresInSeconds) };
  }

  async signPut(key: string, expiresInSeconds: number): Promise<SignedRequest> {
    return {
      method: "PUT",
      url: await this.sas(key, "cw", expiresInSeconds),
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
    const url = `${await this.sas(key, "w", expiresInSeconds)}&comp=block&blockid=${encodeURIComponent(this.blockId(uploadId, partNumber))}`;
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
