import { describe, expect, it } from "vitest";
import { createSecretToken, hashSecretToken, parseSecretToken, timingSafeEqualHex } from "./tokens.js";

describe("secret tokens", () => {
  it("creates prefix_lookupId_secret with a stable SHA-256 hash", () => {
    const { token, hash, lookupId } = createSecretToken("ffjt");
    expect(lookupId).toMatch(/^[0-9a-f]{12}$/);
    expect(token).toMatch(/^ffjt_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(`ffjt_${lookupId}_`)).toBe(true);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecretToken(token)).toBe(hash);
    expect(hashSecretToken(token)).toBe(hashSecretToken(token));
    expect(hashSecretToken(`${token}x`)).not.toBe(hash);
    expect(parseSecretToken(token, "ffjt")).toEqual({ lookupId });
  });

  it("hashes with SHA-256 (FIPS 180-2 test vector)", () => {
    // sha256("abc"), the FIPS 180-2 test vector
    expect(hashSecretToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("never repeats a token or lookup id", () => {
    const tokens = Array.from({ length: 200 }, () => createSecretToken("ffk"));
    expect(new Set(tokens.map((t) => t.token)).size).toBe(200);
    expect(new Set(tokens.map((t) => t.lookupId)).size).toBe(200);
  });

  it("parses secrets that contain underscores and dashes", () => {
    const token = `ffk_0123456789ab_${"_".repeat(20)}${"-".repeat(23)}`;
    expect(parseSecretToken(token, "ffk")).toEqual({ lookupId: "0123456789ab" });
  });

  it("rejects malformed tokens", () => {
    const good = createSecretToken("ffk").token;
    const secret = good.slice("ffk_0123456789ab_".length);
    const bad = [
      "",
      "ffk",
      "ffk_",
      `ffjt_0123456789ab_${secret}`, // other prefix
      `ffk_0123456789AB_${secret}`, // upper-case lookup id
      `ffk_0123456789a_${secret}`, // short lookup id
      `ffk_0123456789abc_${secret}`, // long lookup id
      `ffk_0123456789ab${secret}`, // missing separator
      `ffk_0123456789ab_${secret.slice(1)}`, // short secret
      `ffk_0123456789ab_${secret}A`, // long secret
      `ffk_0123456789ab_${secret.slice(1)}=`, // padding
      `ffk_0123456789ab_${secret.slice(1)}+`, // not base64url
      ` ${good}`,
      `${good}\n`,
    ];
    for (const token of bad) expect(parseSecretToken(token, "ffk"), token).toBeUndefined();
    expect(parseSecretToken(good, "ffk")).toBeDefined();
    expect(parseSecretToken(good, "ffjt")).toBeUndefined();
    expect(parseSecretToken(good, "f_k")).toBeUndefined();
    expect(() => createSecretToken("ff_k")).toThrow(/prefix/);
    expect(() => createSecretToken("")).toThrow(/prefix/);
  });

  it("compares hex digests in constant time, false on any mismatch or junk", () => {
    const a = hashSecretToken("one");
    const b = hashSecretToken("two");
    expect(timingSafeEqualHex(a, a)).toBe(true);
    expect(timingSafeEqualHex(a, a.toUpperCase())).toBe(true);
    expect(timingSafeEqualHex(a, b)).toBe(false);
    expect(timingSafeEqualHex(a, a.slice(0, 62))).toBe(false);
    expect(timingSafeEqualHex(a, `${a.slice(0, 63)}${a.endsWith("0") ? "1" : "0"}`)).toBe(false);
    // Buffer.from("zz", "hex") is empty: junk must not compare equal to junk
    expect(timingSafeEqualHex("zz", "zz")).toBe(false);
    expect(timingSafeEqualHex("", "")).toBe(false);
    expect(timingSafeEqualHex("abc", "abc")).toBe(false);
  });
});
