// Bearer secrets (join tokens, API keys): shown once, stored as a SHA-256 hash next to a
// clear lookup id. The secret has 256 bits of entropy, so a fast unsalted hash is enough:
// there is nothing to brute-force, and lookups stay one indexed query plus one compare.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { PkiError } from "./errors.js";

const PREFIX_RE = /^[a-z][a-z0-9]{0,15}$/;
const LOOKUP_ID_RE = /^[0-9a-f]{12}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url without padding
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** `${prefix}_${lookupId}_${secret}`; only `hash` and `lookupId` are stored. */
export function createSecretToken(prefix: string): { token: string; hash: string; lookupId: string } {
  if (typeof prefix !== "string" || !PREFIX_RE.test(prefix))
    throw new PkiError(`createSecretToken: prefix ${JSON.stringify(prefix)} must match [a-z][a-z0-9]{0,15}`);
  const lookupId = randomBytes(6).toString("hex");
  const token = `${prefix}_${lookupId}_${randomBytes(32).toString("base64url")}`;
  return { token, hash: hashSecretToken(token), lookupId };
}

/** SHA-256 of the whole token, lower-case hex. */
export function hashSecretToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The lookup id of a well-formed token with this prefix; undefined for anything else. */
export function parseSecretToken(token: string, prefix: string): { lookupId: string } | undefined {
  if (typeof token !== "string" || typeof prefix !== "string" || !PREFIX_RE.test(prefix)) return undefined;
  const head = `${prefix}_`;
  if (!token.startsWith(head)) return undefined;
  const lookupId = token.slice(head.length, head.length + 12);
  if (!LOOKUP_ID_RE.test(lookupId) || token[head.length + 12] !== "_") return undefined;
  if (!SECRET_RE.test(token.slice(head.length + 13))) return undefined;
  return { lookupId };
}

/** Constant-time comparison of two hex digests. False (never an exception) for non-hex input or unequal lengths. */
export function timingSafeEqualHex(a: string, b: string): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  if (a.length === 0 || a.length !== b.length || !HEX_RE.test(a) || !HEX_RE.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, "hex"), Buffer.from(b, "hex"));
}
