// A local endpoint that speaks the subset of Azure Blob Storage's REST API (XML) that
// @azure/storage-blob calls for AzureStore, path-style like Azurite
// (http://127.0.0.1:<port>/<account>/<container>/<blob>), in memory:
//
//   PUT  blob (x-ms-blob-type: BlockBlob)      Put Blob
//   PUT  ?comp=block&blockid=                  Put Block        PUT ?comp=blocklist   Put Block List (XML)
//   PUT  with x-ms-copy-source                 Copy Blob (same account; completes at once)
//   GET  / HEAD blob (x-ms-range or Range)     Get Blob / Get Blob Properties
//   GET  ?restype=container&comp=list          List Blobs (XML, marker paging)
//   DELETE blob                                Delete Blob
//
// Authorisation: a request is accepted with a SharedKey Authorization header naming the
// account (its HMAC is NOT checked), or with a service SAS, which IS checked: the signature is
// recomputed from the query's fields with the account key, and the permission (r for GET/HEAD,
// c/w for PUT), start and expiry are enforced (403 otherwise).
//
// What it proves: the SDK's real requests (block uploads, ranged downloads, paged listing,
// copy, delete) work with AzureStore, and the SAS tokens AzureStore makes are bound to their
// blob, permissions and expiry. What it cannot prove: Shared Key request signing, Entra ID /
// managed identity, user-delegation SAS, and the real service's limits and consistency.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { BlobSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential, SASProtocol } from "@azure/storage-blob";

interface Blob {
  data: Buffer;
  modified: Date;
  etag: string;
}

export interface FakeAzure {
  endpoint: string;
  account: string;
  accountKey: string;
  blobs: Map<string, Blob>;
  requests: string[];
  stop(): Promise<void>;
}

const xmlEscape = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!);

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function startFakeAzure(opts: { account?: string; accountKey?: string } = {}): Promise<FakeAzure> {
  const account = opts.account ?? "devaccount";
  const accountKey = opts.accountKey ?? Buffer.from("framefleet-test-account-key-0123456789").toString("base64");
  const cred = new StorageSharedKeyCredential(account, accountKey);
  const blobs = new Map<string, Blob>();
  const blocks = new Map<string, Map<string, Buffer>>();
  const containers = new Set<string>();
  const requests: string[] = [];
  let n = 0;
  const store = (k: string, data: Buffer) => {
    const b = { data, modified: new Date(), etag: `"0x${(++n).toString(16).padStart(8, "0")}"` };
    blobs.set(k, b);
    return b;
  };

  function sasAllows(url: URL, container: string, blob: string, method: string): string | undefined {
    const q = url.searchParams;
    const sp = q.get("sp") ?? "";
    const want = method === "GET" || method === "HEAD" ? "r" : "w";
    if (!(sp.includes(want) || (want === "w" && sp.includes("c")))) return "AuthorizationPermissionMismatch";
    const now = Date.now();
    if (q.get("st") && now < new Date(q.get("st")!).getTime()) return "AuthenticationFailed: not yet valid";
    if (!q.get("se") || now > new Date(q.get("se")!).getTime()) return "AuthenticationFailed: expired";
    const expected = generateBlobSASQueryParameters(
      {
        containerName: container,
        blobName: blob,
        permissions: BlobSASPermissions.parse(sp),
        ...(q.get("st") ? { startsOn: new Date(q.get("st")!) } : {}),
        expiresOn: new Date(q.get("se")!),
        version: q.get("sv") ?? undefined,
        ...(q.get("spr") ? { protocol: q.get("spr") as SASProtocol } : {}),
      },
      cred,
    ).signature;
    return expected === q.get("sig") ? undefined : "AuthenticationFailed: signature mismatch";
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://x");
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const segs = url.pathname.split("/").slice(1);
      const fail = (status: number, code: string) => {
        res.writeHead(status, { "content-type": "application/xml", "x-ms-error-code": code.split(":")[0]! });
        res.end(
          `<?xml version="1.0" encoding="utf-8"?><Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(code)}</Message></Error>`,
        );
      };
      if (segs[0] !== account) return fail(400, "InvalidUri");
      const container = decodeURIComponent(segs[1] ?? "");
      const blobName = segs.slice(2).map(decodeURIComponent).join("/");
      const key = `${container}/${blobName}`;
      const comp = url.searchParams.get("comp");
      const common = { "x-ms-request-id": String(++n), "x-ms-version": String(req.headers["x-ms-version"] ?? "2025-01-05") };

      // authorisation
      if (url.searchParams.has("sig")) {
        const why = blobName ? sasAllows(url, container, blobName, req.method ?? "") : "AuthorizationFailure";
        if (why) return fail(403, why);
      } else if (!String(req.headers.authorization ?? "").startsWith(`SharedKey ${account}:`)) {
        return fail(403, "AuthenticationFailed: no credentials");
      }

      if (!blobName) {
        if (req.method === "PUT" && url.searchParams.get("restype") === "container") {
          containers.add(container);
          res.writeHead(201, common);
          return res.end();
        }
        if (req.method === "GET" && comp === "list") {
          const prefix = url.searchParams.get("prefix") ?? "";
          const all = [...blobs.entries()].filter(([k]) => k.startsWith(`${container}/${prefix}`)).sort(([a], [b]) => (a < b ? -1 : 1));
          const start = Number(url.searchParams.get("marker") || 0);
          const size = Number(url.searchParams.get("maxresults") ?? 2);
          const page = all.slice(start, start + size);
          const next = start + size < all.length ? String(start + size) : "";
          const items = page
            .map(
              ([k, b]) =>
                `<Blob><Name>${xmlEscape(k.slice(container.length + 1))}</Name><Properties><Last-Modified>${b.modified.toUTCString()}</Last-Modified><Etag>${b.etag}</Etag><Content-Length>${b.data.length}</Content-Length><BlobType>BlockBlob</BlobType></Properties></Blob>`,
            )
            .join("");
          res.writeHead(200, { ...common, "content-type": "application/xml" });
          return res.end(
            `<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://${req.headers.host}/${account}/" ContainerName="${xmlEscape(container)}"><Prefix>${xmlEscape(prefix)}</Prefix><MaxResults>${size}</MaxResults><Blobs>${items}</Blobs><NextMarker>${next}</NextMarker></EnumerationResults>`,
          );
        }
        return fail(400, "UnsupportedContainerOperation");
      }

      if (req.method === "PUT" && comp === "block") {
        const id = url.searchParams.get("blockid") ?? "";
        if (!blocks.has(key)) blocks.set(key, new Map());
        blocks.get(key)!.set(id, await body(req));
        res.writeHead(201, common);
        return res.end();
      }
      if (req.method === "PUT" && comp === "blocklist") {
        const xml = (await body(req)).toString();
        const ids = [...xml.matchAll(/<(?:Latest|Uncommitted|Committed)>([^<]*)<\//g)].map((m) => m[1]!);
        const staged = blocks.get(key) ?? new Map<string, Buffer>();
        const missing = ids.find((id) => !staged.has(id));
        if (missing) return fail(400, "InvalidBlockList");
        const b = store(key, Buffer.concat(ids.map((id) => staged.get(id)!)));
        blocks.delete(key);
        res.writeHead(201, { ...common, etag: b.etag, "last-modified": b.modified.toUTCString() });
        return res.end();
      }
      if (req.method === "PUT" && req.headers["x-ms-copy-source"]) {
        const src = new URL(String(req.headers["x-ms-copy-source"]));
        const s = src.pathname.split("/").slice(1);
        const from = blobs.get(`${decodeURIComponent(s[1] ?? "")}/${s.slice(2).map(decodeURIComponent).join("/")}`);
        if (!from) return fail(404, "CannotVerifyCopySource");
        const b = store(key, Buffer.from(from.data));
        res.writeHead(202, {
          ...common,
          etag: b.etag,
          "last-modified": b.modified.toUTCString(),
          "x-ms-copy-id": String(n),
          "x-ms-copy-status": "success",
        });
        return res.end();
      }
      if (req.method === "PUT") {
        if (String(req.headers["x-ms-blob-type"] ?? "") !== "BlockBlob") return fail(400, "MissingRequiredHeader");
        const b = store(key, await body(req));
        res.writeHead(201, { ...common, etag: b.etag, "last-modified": b.modified.toUTCString() });
        return res.end();
      }
      const b = blobs.get(key);
      if (req.method === "DELETE") {
        if (!b) return fail(404, "BlobNotFound");
        blobs.delete(key);
        res.writeHead(202, common);
        return res.end();
      }
      if (req.method === "GET" || req.method === "HEAD") {
        if (!b) {
          if (req.method === "HEAD") {
            res.writeHead(404, { ...common, "x-ms-error-code": "BlobNotFound" });
            return res.end();
          }
          return fail(404, "BlobNotFound");
        }
        const props = {
          ...common,
          etag: b.etag,
          "last-modified": b.modified.toUTCString(),
          "x-ms-blob-type": "BlockBlob",
          "accept-ranges": "bytes",
          "content-type": "application/octet-stream",
        };
        const r = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers["x-ms-range"] ?? req.headers.range ?? ""));
        if (r && req.method === "GET") {
          const start = Number(r[1]);
          if (start >= b.data.length) {
            res.writeHead(416, { ...props, "content-range": `bytes */${b.data.length}` });
            return res.end();
          }
          const end = r[2] ? Math.min(Number(r[2]), b.data.length - 1) : b.data.length - 1;
          res.writeHead(206, { ...props, "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${b.data.length}` });
          return res.end(b.data.subarray(start, end + 1));
        }
        res.writeHead(200, { ...props, "content-length": b.data.length });
        return res.end(req.method === "HEAD" ? undefined : b.data);
      }
      fail(400, "UnsupportedOperation");
    })().catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}/${account}`,
    account,
    accountKey,
    blobs,
    requests,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
