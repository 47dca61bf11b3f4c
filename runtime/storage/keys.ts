// Store references (`store://<store>/<key>`) and object keys.
//
// Compositions never name media by URL or path: only by a store reference, parsed
// here before any Store method sees the key. The rules are deliberately stricter
// than what S3/GCS/Azure/POSIX accept, so that one key means the same object in
// every store and can never escape a store's root or smuggle an ffmpeg option.

export class StoreRefError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "StoreRefError";
  }
}

export const MAX_KEY_BYTES = 1024;
/** store names: what a tenant's configuration may call a store */
export const STORE_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** the engine's staging area inside an output store; customers may not read or write it by reference */
export const RESERVED_PREFIX = ".framefleet-staging";

export interface KeyOptions {
  /** a prefix may end with "/" (e.g. an output folder) */
  prefix?: boolean;
  /** allow keys under the reserved staging area (engine-internal use only) */
  allowReserved?: boolean;
}

// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and BOM
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/** Throws StoreRefError when `key` is not a safe object key. */
export function validateKey(key: string, opts: KeyOptions = {}): void {
  if (typeof key !== "string") throw new StoreRefError("key must be a string");
  if (key.length === 0) throw new StoreRefError("key is empty");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new StoreRefError(`key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (CONTROL_RE.test(key)) throw new StoreRefError("key contains a control character");
  if (key.includes("\\")) throw new StoreRefError("key contains a backslash");
  if (key.startsWith("/")) throw new StoreRefError("key is absolute (starts with '/')");
  if (/^[A-Za-z]:/.test(key)) throw new StoreRefError("key looks like a drive path");
  if (key.includes("?") || key.includes("#")) {
    throw new StoreRefError("key contains '?' or '#' (query strings and fragments are not part of a key)");
  }
  if (key.includes("%")) throw new StoreRefError("key contains '%' (keys are never URL-decoded; write the characters)");
  const body = opts.prefix && key.endsWith("/") ? key.slice(0, -1) : key;
  if (body.length === 0) throw new StoreRefError("key is empty");
  for (const seg of body.split("/")) {
    if (seg === "") throw new StoreRefError("key has an empty path segment ('//' or a trailing '/')");
    if (seg === "." || seg === "..") throw new StoreRefError(`key has a '${seg}' segment`);
  }
  if (!opts.allowReserved && (body === RESERVED_PREFIX || body.startsWith(RESERVED_PREFIX + "/"))) {
    throw new StoreRefError(`key is under the reserved '${RESERVED_PREFIX}/' prefix`);
  }
}

/** Parses `store://<store>/<key>`; throws StoreRefError with the reason. */
export function parseStoreRef(uri: string, opts: KeyOptions = {}): { store: string; key: string } {
  if (typeof uri !== "string") throw new StoreRefError("store reference must be a string");
  if (CONTROL_RE.test(uri)) throw new StoreRefError("store reference contains a control character");
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!m) throw new StoreRefError("not a store reference: expected store://<store>/<key>");
  if (m[1] !== "store") {
    throw new StoreRefError(`scheme '${m[1]}:' is not allowed: inputs and outputs are store references (store://<store>/<key>)`);
  }
  if (!uri.startsWith("store://")) throw new StoreRefError("expected store://<store>/<key>");
  const rest = uri.slice("store://".length);
  const slash = rest.indexOf("/");
  if (slash < 0) throw new StoreRefError("store reference has no key: expected store://<store>/<key>");
  const store = rest.slice(0, slash);
  const key = rest.slice(slash + 1);
  if (!STORE_NAME_RE.test(store)) {
    throw new StoreRefError(`store name '${store.slice(0, 64)}' is invalid (lowercase letters, digits, '_' and '-', at most 63)`);
  }
  validateKey(key, opts);
  return { store, key };
}

/** Joins key segments with "/" without introducing empty segments. */
export function joinKey(...parts: string[]): string {
  return parts
    .filter((p) => p.length > 0)
    .map((p, i, a) => {
      let s = p;
      if (i > 0) s = s.replace(/^\/+/, "");
      if (i < a.length - 1) s = s.replace(/\/+$/, "");
      return s;
    })
    .join("/");
}

/** Ensures a prefix ends with "/" (so "out/a" never matches "out/ab"). */
export function asPrefix(key: string): string {
  return key === "" || key.endsWith("/") ? key : key + "/";
}
