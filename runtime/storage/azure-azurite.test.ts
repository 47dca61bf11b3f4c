// AzureStore against Azurite, Microsoft's Azure Storage emulator (test/support/azurite.ts),
// with each kind of credential the store accepts.
//
// Proves, with the emulator checking signatures itself: Shared Key requests with an
// account key and the service SAS grants made from it; a container SAS token as the
// manager's only credential (its own requests work; task grants are refused rather than
// widened); and the Azure AD path end to end — bearer-token requests, Get User Delegation
// Key, and user-delegation SAS grants that Azurite verifies against the key it issued and
// that are bound to one blob and their permissions.
// Cannot prove: Entra ID itself. Azurite accepts any unexpired token with a storage
// audience and an Azure issuer without checking its signature, so the token here is
// made locally; that ClientSecretCredential, ManagedIdentityCredential or
// DefaultAzureCredential obtain a real token, and that RBAC allows Get User Delegation
// Key (Storage Blob Delegator) and the blob operations, can be shown only against Azure.
import https from "node:https";
import { createHash, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzurite, type Azurite } from "../../test/support/azurite.js";
import { AzureStore, accountFromEndpoint, azureCredentialProblem } from "./azure.js";
import { PresignedStore } from "./presigned.js";
import { presignedDefinition, taskScope } from "./grants.js";

async function bytes(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** An HTTPS request trusting the emulator's own certificate. */
function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string; ca: string }) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? "GET", headers: init.headers, ca: init.ca }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A token of the shape Azure AD issues for storage, not signed by Entra (Azurite checks audience, issuer and lifetime only). */
function localToken(): TokenCredential & { requests: number } {
  const cred = {
    requests: 0,
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      cred.requests++;
      expect([scopes].flat()).toContain("https://storage.azure.com/.default");
      const now = Math.floor(Date.now() / 1000);
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
      const payload = {
        aud: "https://storage.azure.com",
        iss: `https://sts.windows.net/${randomUUID()}/`,
        iat: now - 60,
        nbf: now - 60,
        exp: now + 3600,
        oid: randomUUID(),
        tid: randomUUID(),
      };
      const jwt = `${b64({ alg: "RS256", typ: "JWT" })}.${b64(payload)}.${createHash("sha256").update("unsigned").digest("base64url")}`;
      return { token: jwt, expiresOnTimestamp: (now + 3600) * 1000 };
    },
  };
  return cred;
}

describe("credential rules", () => {
  it("accepts an account key, a SAS token, a client secret or a managed identity, and names what is missing", () => {
    expect(azureCredentialProblem(["accountName", "accountKey"])).toBeUndefined();
    expect(azureCredentialProblem(["sasToken"])).toBeUndefined();
    expect(azureCredentialProblem(["tenantId", "clientId", "clientSecret"])).toBeUndefined();
    expect(azureCredentialProblem(["clientId"])).toBeUndefined();
    expect(azureCredentialProblem(["accountKey"])).toEqual({ field: "accountName", reason: "an account key needs accountName" });
    expect(azureCredentialProblem(["tenantId", "clientId"])?.field).toBe("clientSecret");
    expect(azureCredentialProblem([])?.reason).toMatch(/sasToken/);
    expect(accountFromEndpoint("https://acmemedia.blob.core.windows.net")).toBe("acmemedia");
    expect(accountFromEndpoint("http://127.0.0.1:10000/devstoreaccount1")).toBe("devstoreaccount1");
    expect(() => new AzureStore("x", { container: "c", credentials: { sasToken: "sv=1" } })).toThrow(/endpoint naming the account/);
  });
});

describe("AzureStore against Azurite (HTTP): account key and SAS token", () => {
  let az: Azurite;
  beforeAll(async () => {
    az = await startAzurite();
  });
  afterAll(async () => {
    await az?.stop();
  });

  it("uses Shared Key for its own requests and hands out service SAS grants scoped to one blob", async () => {
    const store = new AzureStore("media", {
      container: "keyed",
      prefix: "acme/",
      endpoint: az.endpoint,
      credentials: { accountName: az.account, accountKey: az.accountKey },
    });
    await store.container.create();
    await store.write("in/a.txt", "hello, world");
    expect((await bytes(await store.read("in/a.txt", { start: 7, end: 11 }))).toString()).toBe("world");
    await store.write("in/b.txt", "b");
    expect(await store.copyPrefix("in/", "copy/")).toBe(2);
    expect((await store.list("copy/")).map((o) => o.key)).toEqual(["copy/a.txt", "copy/b.txt"]);
    expect(await store.deletePrefix("copy/")).toBe(2);
    // a wrong account key is refused by the emulator (it checks Shared Key signatures)
    const wrong = new AzureStore("media", {
      container: "keyed",
      endpoint: az.endpoint,
      credentials: { accountName: az.account, accountKey: Buffer.alloc(64, 7).toString("base64") },
    });
    await expect(wrong.write("acme/in/x.txt", "x")).rejects.toMatchObject({ statusCode: 403 });
    expect(await store.stat("in/x.txt")).toBeUndefined();

    const get = await store.signGet("in/a.txt", 60);
    expect(await (await fetch(get.url)).text()).toBe("hello, world");
    expect((await fetch(get.url.replace("/in/a.txt?", "/in/b.txt?"))).status).toBe(403);
    const tampered = get.url.replace(/sp=r(?=&|$)/, "sp=rw");
    expect((await fetch(tampered, { method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "x" })).status).toBe(403);
    const put = await store.signPut("out/c.txt", 60);
    expect((await fetch(put.url, { method: "PUT", headers: put.headers, body: "ccc" })).status).toBe(201);
    expect((await store.stat("out/c.txt"))?.size).toBe(3);
  });

  it("works with a container SAS token as its only credential, and refuses to widen it into task grants", async () => {
    const admin = new AzureStore("media", {
      container: "sas-only",
      endpoint: az.endpoint,
      credentials: { accountName: az.account, accountKey: az.accountKey },
    });
    await admin.container.create();
    const containerSas = (permissions: string) =>
      generateBlobSASQueryParameters(
        { containerName: "sas-only", permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) },
        new StorageSharedKeyCredential(az.account, az.accountKey),
      ).toString();
    const store = new AzureStore("media", {
      container: "sas-only",
      prefix: "t/",
      endpoint: az.endpoint,
      credentials: { sasToken: containerSas("racwdl") },
    });
    await store.write("in/a.txt", "via sas");
    expect((await bytes(await store.read("in/a.txt"))).toString()).toBe("via sas");
    expect(await store.copyPrefix("in/", "out/")).toBe(1);
    expect((await store.list("")).map((o) => o.key)).toEqual(["in/a.txt", "out/a.txt"]);
    expect(await store.deletePrefix("out/")).toBe(1);
    await expect(store.signGet("in/a.txt", 60)).rejects.toThrow(/SAS-token credential cannot sign task-scoped grants/);
    // a read-only token is enforced by the emulator: the manager's write fails, nothing is written
    const ro = new AzureStore("media", {
      container: "sas-only",
      prefix: "t/",
      endpoint: az.endpoint,
      credentials: { sasToken: containerSas("rl") },
    });
    await expect(ro.write("in/new.txt", "no")).rejects.toMatchObject({ statusCode: 403 });
    expect(await store.stat("in/new.txt")).toBeUndefined();
  });
});

describe("AzureStore against Azurite (HTTPS + OAuth): Azure AD and user-delegation SAS", () => {
  let az: Azurite;
  beforeAll(async () => {
    az = await startAzurite({ https: true });
  });
  afterAll(async () => {
    await az?.stop();
  });

  it("authenticates with a bearer token and grants tasks user-delegation SAS for exactly their keys", async () => {
    const token = localToken();
    const ca = az.caPem!;
    const store = new AzureStore("media", {
      container: "masters",
      prefix: "acme/",
      endpoint: az.endpoint,
      tokenCredential: token,
      caPem: ca,
    });
    await store.container.create();
    await store.write("inputs/master.mov", "master bytes");
    expect(token.requests).toBeGreaterThan(0);

    const def = await presignedDefinition(
      store,
      "azure",
      "media",
      taskScope({
        jobId: "00000000-0000-4000-8000-0000000000aa",
        key: "encode:small",
        attempt: 1,
        spec: { input: "store://media/inputs/master.mov", output: "store://media/out/" },
        deps: {},
      }),
      600,
    );
    const url = def.get["inputs/master.mov"]!.url;
    // a user-delegation SAS: skoid/sktid name the delegation key; no account key was involved
    expect(url).toMatch(/[?&]skoid=/);
    expect(url).toMatch(/[?&]sktid=/);
    expect(await request(url, { ca })).toEqual({ status: 200, body: "master bytes" });
    expect(await request(url, { ca, headers: { range: "bytes=7-11" } })).toEqual({ status: 206, body: "bytes" });
    // bound to its blob and permissions: Azurite recomputes the signature with the key it issued
    expect((await request(url.replace("/inputs/master.mov?", "/inputs/other.mov?"), { ca })).status).toBe(403);
    const widened = url.replace(/sp=r(?=&|$)/, "sp=rw");
    expect((await request(widened, { ca, method: "PUT", headers: { "x-ms-blob-type": "BlockBlob" }, body: "x" })).status).toBe(403);
    const forged = url.replace(/sig=[^&]+/, "sig=" + encodeURIComponent(Buffer.alloc(32).toString("base64")));
    expect((await request(forged, { ca })).status).toBe(403);

    const staged = ".framefleet-staging/00000000-0000-4000-8000-0000000000aa/encode:small/1/video.mp4";
    const put = await store.signPut(staged, 600);
    expect(put.url).toMatch(/[?&]skoid=/);
    expect((await request(put.url, { ca, method: "PUT", headers: put.headers, body: "encoded" })).status).toBe(201);
    expect((await store.stat(staged))?.size).toBe(7);

    // the worker's side: a PresignedStore reads through the grant (undici's fetch, told to trust the emulator's certificate)
    const agent = new Agent({ connect: { ca } });
    const worker = new PresignedStore("media", def, {
      fetch: ((input: string, init?: object) => undiciFetch(input, { ...init, dispatcher: agent })) as unknown as typeof fetch,
    });
    expect((await bytes(await worker.read("inputs/master.mov", { start: 0, end: 5 }))).toString()).toBe("master");
    await agent.close();
  });
});
