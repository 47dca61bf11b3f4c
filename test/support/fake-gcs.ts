// A local endpoint that speaks the subset of Google Cloud Storage's HTTP APIs that
// @google-cloud/storage calls for GcsStore (a stand-in for the cloud, which is not
// reachable from here), in memory:
//
//   JSON API  GET    /storage/v1/b/:b/o/:o           metadata; ?alt=media: the bytes (Range honoured)
//             GET    /storage/v1/b/:b/o?prefix=      list (pageToken paging)
//             DELETE /storage/v1/b/:b/o/:o
//             POST   /storage/v1/b/:b/o/:o/rewriteTo/b/:b2/o/:o2   copy
//   upload    POST   /upload/storage/v1/b/:b/o?uploadType=multipart | resumable (+ PUT chunks with Content-Range)
//   XML API   GET|PUT /:b/:o?X-Goog-Signature=...    V4 signed URLs, VERIFIED: RSA-SHA256 over the canonical
//             request with the service account's public key; expiry and method checked (403 otherwise)
//
// What it proves: the client library's real requests (paths, encodings, multipart/related and
// resumable uploads, ranged media downloads, paging) work with GcsStore, and that the V4 signed URLs
// GcsStore makes are bound to their object, method and expiry. What it cannot prove: OAuth
// (the library sends no token to a custom endpoint), IAM, GCS's own error shapes beyond 404/403/412,
// and performance or consistency of the real service.
import http from "node:http";
import { createHash, createVerify, type KeyObject } from "node:crypto";
import type { AddressInfo } from "node:net";

interface Obj {
  data: Buffer;
  updated: Date;
  generation: number;
}

export interface FakeGcs {
  endpoint: string;
  objects: Map<string, Obj>;
  requests: string[];
  stop(): Promise<void>;
}

const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

function meta(bucket: string, name: string, o: Obj) {
  return {
    kind: "storage#object",
    id: `${bucket}/${name}/${o.generation}`,
    name,
    bucket,
    size: String(o.data.length),
    updated: o.updated.toISOString(),
    generation: String(o.generation),
    md5Hash: createHash("md5").update(o.data).digest("base64"),
  };
}

async function body(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export async function startFakeGcs(opts: { publicKey: KeyObject; clientEmail: string }): Promise<FakeGcs> {
  const objects = new Map<string, Obj>();
  const sessions = new Map<string, { bucket: string; name: string; chunks: Buffer[] }>();
  const requests: string[] = [];
  let gen = 1;
  const put = (bucket: string, name: string, data: Buffer) => {
    const o = { data, updated: new Date(), generation: gen++ };
    objects.set(`${bucket}/${name}`, o);
    return o;
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://x");
      const p = url.pathname;
      requests.push(`${req.method} ${p}${url.search}`);
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(v));
      };
      const notFound = () => json(404, { error: { code: 404, message: "No such object" } });
      const sendMedia = (o: Obj) => {
        const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
        if (range) {
          const start = Number(range[1]);
          const end = range[2] ? Math.min(Number(range[2]), o.data.length - 1) : o.data.length - 1;
          if (start >= o.data.length) {
            res.writeHead(416, { "content-range": `bytes */${o.data.length}` });
            return res.end();
          }
          res.writeHead(206, {
            "content-range": `bytes ${start}-${end}/${o.data.length}`,
            "content-length": end - start + 1,
            "last-modified": o.updated.toUTCString(),
          });
          return res.end(o.data.subarray(start, end + 1));
        }
        res.writeHead(200, { "content-length": o.data.length, "last-modified": o.updated.toUTCString() });
        res.end(o.data);
      };

      // ---- V4 signed URLs (XML API path style)
      if (url.searchParams.has("X-Goog-Signature")) {
        const m = /^\/([^/]+)\/(.+)$/.exec(p);
        const deny = (why: string) => {
          res.writeHead(403, { "content-type": "application/xml" });
          res.end(`<Error><Code>AccessDenied</Code><Message>${why}</Message></Error>`);
        };
        if (!m) return deny("bad path");
        const q = [...url.searchParams.entries()]
          .filter(([k]) => k !== "X-Goog-Signature")
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const canonicalQuery = q.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
        const signedHeaders = url.searchParams.get("X-Goog-SignedHeaders") ?? "host";
        // the library signs the endpoint's host name without its port
        const header = (h: string) =>
          h === "host" ? String(req.headers.host ?? "").replace(/:\d+$/, "") : String(req.headers[h] ?? "").trim();
        const headerLines = signedHeaders
          .split(";")
          .map((h) => `${h}:${header(h)}\n`)
          .join("");
        const canonicalRequest = [req.method, p, canonicalQuery, headerLines, signedHeaders, "UNSIGNED-PAYLOAD"].join("\n");
        const date = url.searchParams.get("X-Goog-Date") ?? "";
        const scope = (url.searchParams.get("X-Goog-Credential") ?? "").split("/").slice(1).join("/");
        const stringToSign = ["GOOG4-RSA-SHA256", date, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
        const ok = createVerify("RSA-SHA256")
          .update(stringToSign)
          .verify(opts.publicKey, Buffer.from(url.searchParams.get("X-Goog-Signature") ?? "", "hex"));
        if (!ok) return deny("SignatureDoesNotMatch");
        if (!(url.searchParams.get("X-Goog-Credential") ?? "").startsWith(opts.clientEmail + "/")) return deny("unknown credential");
        const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
        const signedAt = t ? Date.UTC(+t[1]!, +t[2]! - 1, +t[3]!, +t[4]!, +t[5]!, +t[6]!) : 0;
        if (Date.now() > signedAt + Number(url.searchParams.get("X-Goog-Expires") ?? 0) * 1000) return deny("ExpiredToken");
        const [, bucket, rawName] = m as unknown as [string, string, string];
        const name = decodeURIComponent(rawName);
        if (req.method === "GET") {
          const o = objects.get(`${bucket}/${name}`);
          return o ? sendMedia(o) : notFound();
        }
        if (req.method === "PUT") {
          const o = put(bucket, name, await body(req));
          res.writeHead(200, { etag: `"${o.generation}"` });
          return res.end();
        }
        return deny("method");
      }

      // ---- uploads
      let m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(p);
      if (m) {
        const bucket = decodeURIComponent(m[1]!);
        const type = url.searchParams.get("uploadType");
        const uploadId = url.searchParams.get("upload_id");
        if (req.method === "POST" && type === "multipart") {
          const raw = await body(req);
          const boundary = /boundary="?([^";]+)"?/.exec(String(req.headers["content-type"]))?.[1];
          if (!boundary) return json(400, { error: { message: "no boundary" } });
          const sections = raw.toString("latin1").split(`--${boundary}`).slice(1, -1);
          const part = (s: string) => {
            const i = s.indexOf("\r\n\r\n");
            return Buffer.from(s.slice(i + 4, s.length - 2), "latin1");
          };
          const md = JSON.parse(part(sections[0]!).toString()) as { name?: string };
          const name = md.name ?? url.searchParams.get("name") ?? "";
          return json(200, meta(bucket, name, put(bucket, name, part(sections[1]!))));
        }
        if (req.method === "POST" && type === "resumable") {
          const md = JSON.parse((await body(req)).toString() || "{}") as { name?: string };
          const name = md.name ?? url.searchParams.get("name") ?? "";
          const id = Math.random().toString(36).slice(2);
          sessions.set(id, { bucket, name, chunks: [] });
          res.writeHead(200, {
            location: `http://${req.headers.host}/upload/storage/v1/b/${enc(bucket)}/o?uploadType=resumable&upload_id=${id}`,
          });
          return res.end();
        }
        if (req.method === "PUT" && uploadId) {
          const s = sessions.get(uploadId);
          if (!s) return notFound();
          const chunk = await body(req);
          s.chunks.push(chunk);
          const cr = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(String(req.headers["content-range"] ?? ""));
          const have = s.chunks.reduce((n, c) => n + c.length, 0);
          if (cr && cr[3] !== "*" && Number(cr[3]) === have) {
            sessions.delete(uploadId);
            return json(200, meta(s.bucket, s.name, put(s.bucket, s.name, Buffer.concat(s.chunks))));
          }
          if (!cr && req.headers["content-range"] === undefined) {
            sessions.delete(uploadId);
            return json(200, meta(s.bucket, s.name, put(s.bucket, s.name, Buffer.concat(s.chunks))));
          }
          res.writeHead(308, have > 0 ? { range: `bytes=0-${have - 1}` } : {});
          return res.end();
        }
      }

      // ---- JSON API
      m = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)\/(?:rewriteTo|copyTo)\/b\/([^/]+)\/o\/([^/]+)$/.exec(p);
      if (m && req.method === "POST") {
        await body(req);
        const src = objects.get(`${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`);
        if (!src) return notFound();
        const o = put(decodeURIComponent(m[3]!), decodeURIComponent(m[4]!), Buffer.from(src.data));
        const resource = meta(decodeURIComponent(m[3]!), decodeURIComponent(m[4]!), o);
        return json(
          200,
          p.includes("/rewriteTo/")
            ? {
                kind: "storage#rewriteResponse",
                done: true,
                totalBytesRewritten: String(o.data.length),
                objectSize: String(o.data.length),
                resource,
              }
            : resource,
        );
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(p);
      if (m) {
        const bucket = decodeURIComponent(m[1]!);
        const name = decodeURIComponent(m[2]!);
        const o = objects.get(`${bucket}/${name}`);
        if (req.method === "DELETE") {
          if (!o) return notFound();
          objects.delete(`${bucket}/${name}`);
          res.writeHead(204);
          return res.end();
        }
        if (req.method === "GET") {
          if (!o) return notFound();
          if (url.searchParams.get("alt") === "media") return sendMedia(o);
          return json(200, meta(bucket, name, o));
        }
      }
      m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(p);
      if (m && req.method === "GET") {
        const bucket = decodeURIComponent(m[1]!);
        const prefix = url.searchParams.get("prefix") ?? "";
        const all = [...objects.entries()]
          .filter(([k]) => k.startsWith(`${bucket}/${prefix}`))
          .map(([k, o]) => meta(bucket, k.slice(bucket.length + 1), o))
          .sort((a, b) => (a.name < b.name ? -1 : 1));
        const start = Number(url.searchParams.get("pageToken") ?? 0);
        const size = Math.min(Number(url.searchParams.get("maxResults") ?? 2), 1000);
        const page = all.slice(start, start + size);
        return json(200, {
          kind: "storage#objects",
          items: page,
          ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}),
        });
      }
      json(400, { error: { message: `fake-gcs: unsupported ${req.method} ${p}` } });
    })().catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    requests,
    stop: () =>
      new Promise((r) => {
        server.close(() => r());
        // keep-alive sockets of the client library would hold close() open
        server.closeAllConnections();
      }),
  };
}
