// PresignedStore's own rules, with a recording fetch (the real servers are in s3/gcs/azure tests).
import { describe, expect, it } from "vitest";
import { PresignedStore, StoreScopeError, type GrantSigner, type PresignedDefinition } from "./presigned.js";
import { StoreRefError } from "./keys.js";

const soon = (s: number) => new Date(Date.now() + s * 1000).toISOString();

function setup(def: Partial<PresignedDefinition> = {}) {
  const seen: { url: string; method: string; range?: string }[] = [];
  const fakeFetch = (async (url: string, init: RequestInit = {}) => {
    const h = new Headers(init.headers);
    seen.push({ url, method: init.method ?? "GET", range: h.get("range") ?? undefined });
    if (url.includes("empty")) return new Response(null, { status: 416, headers: { "content-range": "bytes */0" } });
    return new Response("x", { status: 206, headers: { "content-range": "bytes 0-0/1234", "last-modified": new Date(0).toUTCString() } });
  }) as unknown as typeof fetch;
  const signed: string[] = [];
  const signer: GrantSigner = async (req) => {
    signed.push(`${req.op} ${req.key}`);
    return { request: { method: req.op === "get" ? "GET" : "PUT", url: `https://s/${req.key}?fresh`, expires: soon(600) } };
  };
  const store = new PresignedStore(
    "media",
    {
      kind: "presigned",
      backend: "s3",
      expires: soon(600),
      get: {
        "in/a.mov": { method: "GET", url: "https://s/in/a.mov?sig", expires: soon(600) },
        "in/empty.mov": { method: "GET", url: "https://s/in/empty.mov?sig", expires: soon(600) },
      },
      write: { prefix: ".framefleet-staging/j/t/1/" },
      ...def,
    },
    { signer, fetch: fakeFetch },
  );
  return { store, seen, signed };
}

describe("PresignedStore", () => {
  it("stats with a one-byte ranged GET and reads ranges with a Range header", async () => {
    const { store, seen } = setup();
    expect((await store.stat("in/a.mov"))?.size).toBe(1234);
    expect(seen[0]).toMatchObject({ method: "GET", range: "bytes=0-0" });
    expect((await store.stat("in/empty.mov"))?.size).toBe(0);
    await store.read("in/a.mov", { start: 10, end: 19 });
    expect(seen.at(-1)?.range).toBe("bytes=10-19");
    expect(store.readUrl("in/a.mov")).toBe("https://s/in/a.mov?sig");
    expect(store.readUrl("in/b.mov")).toBeUndefined();
  });

  it("refuses keys outside the grant before any request, and hostile keys outright", async () => {
    const { store, seen, signed } = setup();
    await expect(store.read("in/b.mov")).rejects.toBeInstanceOf(StoreScopeError);
    await expect(store.write("out/x", "x")).rejects.toBeInstanceOf(StoreScopeError);
    for (const k of ["../in/a.mov", "/in/a.mov", "in/a.mov\u0000", ".framefleet-staging/j/t/1/../2/x"]) {
      await expect(store.read(k), k).rejects.toBeInstanceOf(StoreRefError);
      await expect(store.write(k, "x"), k).rejects.toBeInstanceOf(StoreRefError);
    }
    expect(seen).toEqual([]);
    expect(signed).toEqual([]);
  });

  it("asks for a fresh signature when a granted read is about to expire", async () => {
    const { store, seen, signed } = setup({ get: { "in/a.mov": { method: "GET", url: "https://s/in/a.mov?old", expires: soon(10) } } });
    await store.stat("in/a.mov");
    expect(signed).toEqual(["get in/a.mov"]);
    expect(seen[0]?.url).toBe("https://s/in/a.mov?fresh");
  });
});
