import { describe, expect, it } from "vitest";
import { asPrefix, joinKey, parseStoreRef, StoreRefError, validateKey } from "./keys.js";

describe("parseStoreRef", () => {
  it("parses store://<store>/<key>", () => {
    expect(parseStoreRef("store://media/in/master.mov")).toEqual({ store: "media", key: "in/master.mov" });
    expect(parseStoreRef("store://out/jobs/1/", { prefix: true })).toEqual({ store: "out", key: "jobs/1/" });
  });

  const hostile: [string, RegExp][] = [
    ["http://evil.example/x.mp4", /scheme 'http:'/],
    ["https://169.254.169.254/latest/meta-data", /scheme 'https:'/],
    ["file:///etc/passwd", /scheme 'file:'/],
    ["s3://bucket/key", /scheme 's3:'/],
    ["/etc/passwd", /not a store reference/],
    ["media/in.mp4", /not a store reference/],
    ["store:/media/in.mp4", /expected store:\/\//],
    ["store://media", /no key/],
    ["store://media/", /empty/],
    ["store://Media/x", /store name/],
    ["store://../x", /store name/],
    ["store://media/../secret", /'\.\.' segment/],
    ["store://media/a/../../b", /'\.\.' segment/],
    ["store://media/a/./b", /'\.' segment/],
    ["store:///etc/passwd", /store name/],
    ["store://media//etc/passwd", /absolute/],
    ["store://media/a//b", /empty path segment/],
    ["store://media/a\\..\\b", /backslash/],
    ["store://media/a\u0000b", /control character/],
    ["store://media/a\nb", /control character/],
    ["store://media/a\u202fb\u2028", /control character/],
    ["store://media/C:/x", /drive/],
    ["store://media/a%2e%2e/b", /'%'/],
    ["store://media/a?x=1", /'\?' or '#'/],
    ["store://media/.framefleet-staging/job/x", /reserved/],
    [`store://media/${"a".repeat(1025)}`, /1024 bytes/],
    [`store://media/${"é".repeat(513)}`, /1024 bytes/],
  ];
  for (const [uri, reason] of hostile) {
    it(`refuses ${JSON.stringify(uri).slice(0, 60)}`, () => {
      let caught: unknown;
      try {
        parseStoreRef(uri);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(StoreRefError);
      expect((caught as StoreRefError).reason).toMatch(reason);
    });
  }

  it("accepts a 1024-byte key and rejects a trailing slash unless it is a prefix", () => {
    expect(parseStoreRef(`store://m/${"a".repeat(1024)}`).key).toHaveLength(1024);
    expect(() => parseStoreRef("store://m/out/")).toThrow(/trailing/);
  });
});

describe("validateKey and helpers", () => {
  it("allows the reserved prefix only when asked", () => {
    expect(() => validateKey(".framefleet-staging/j/t/1/x")).toThrow(StoreRefError);
    expect(() => validateKey(".framefleet-staging/j/t/1/x", { allowReserved: true })).not.toThrow();
    expect(() => validateKey(".framefleet-stagingX/y")).not.toThrow();
  });
  it("joins and prefixes keys", () => {
    expect(joinKey("out/", "/a", "b")).toBe("out/a/b");
    expect(joinKey("", "a")).toBe("a");
    expect(asPrefix("out")).toBe("out/");
    expect(asPrefix("out/")).toBe("out/");
  });
});
