// What one task attempt may touch, derived only from what the manager already trusts:
// the task's spec (planned from the validated composition) and its dependencies'
// results (recorded under their leases). Never from anything the worker says.
//
//   reads:  every `store://<store>/<key>` object the spec names (its input), and every
//           staged object of this job that a dependency's result names (encoded renditions,
//           chunks, package files), in the job's output store;
//   writes: the attempt's own staging prefix `.framefleet-staging/<job>/<task>/<attempt>/`
//           in the output store (a `store://<store>/<prefix>/` reference in the spec).
import type { Json } from "../engine/types.js";
import { jobStagingPrefix, stagingPrefix } from "../engine/layout.js";
import { parseStoreRef, StoreRefError, validateKey } from "./keys.js";
import type { Store } from "./store.js";
import { isUrlSigner, type SignedRequest } from "./signing.js";
import type { PresignedDefinition, SignRequestBody, SignResponseBody } from "./presigned.js";
import { StoreScopeError } from "./presigned.js";
import type { CloudKind } from "./definitions.js";

export interface ScopedTask {
  jobId: string;
  /** the task's key in its job ("encode:720p") */
  key: string;
  attempt: number;
  spec: Json;
  deps: Record<string, { state: string; result: Json }>;
}

export interface TaskScope {
  reads: Map<string, Set<string>>;
  writes: Map<string, string>;
}

function* strings(v: Json): Generator<string> {
  if (typeof v === "string") yield v;
  else if (Array.isArray(v)) for (const x of v) yield* strings(x);
  else if (v && typeof v === "object") for (const x of Object.values(v)) yield* strings(x);
}

export function taskScope(t: ScopedTask): TaskScope {
  const reads = new Map<string, Set<string>>();
  const writes = new Map<string, string>();
  const addRead = (store: string, key: string) => {
    let s = reads.get(store);
    if (!s) reads.set(store, (s = new Set()));
    s.add(key);
  };
  for (const s of strings(t.spec)) {
    if (!s.startsWith("store://")) continue;
    const ref = parseStoreRef(s, { prefix: true });
    if (ref.key.endsWith("/")) writes.set(ref.store, stagingPrefix(t.jobId, t.key, t.attempt));
    else addRead(ref.store, ref.key);
  }
  const staging = jobStagingPrefix(t.jobId);
  const outputs = [...writes.keys()];
  for (const d of Object.values(t.deps)) {
    if (d.state !== "succeeded") continue;
    for (const s of strings(d.result)) {
      if (!s.startsWith(staging)) continue;
      try {
        validateKey(s, { allowReserved: true });
      } catch {
        continue;
      }
      for (const store of outputs) addRead(store, s);
    }
  }
  return { reads, writes };
}

/** The presigned definition a worker gets for one cloud store. */
export async function presignedDefinition(
  store: Store,
  kind: CloudKind,
  name: string,
  scope: TaskScope,
  seconds: number,
): Promise<PresignedDefinition> {
  if (!isUrlSigner(store)) throw new Error(`store ${name} cannot sign requests`);
  const get: Record<string, SignedRequest> = {};
  for (const key of scope.reads.get(name) ?? []) get[key] = await store.signGet(key, seconds);
  const prefix = scope.writes.get(name);
  return {
    kind: "presigned",
    backend: kind,
    get,
    ...(prefix ? { write: { prefix } } : {}),
    expires: new Date(Date.now() + seconds * 1000).toISOString(),
  };
}

/** Answers one Sign request of a task attempt, or throws StoreScopeError when it is outside the scope. */
export async function signForTask(store: Store, scope: TaskScope, req: SignRequestBody, seconds: number): Promise<SignResponseBody> {
  if (!isUrlSigner(store)) throw new StoreScopeError(`store ${req.store} is not a cloud store: nothing to sign`);
  try {
    validateKey(req.key, { allowReserved: true });
  } catch (e) {
    throw new StoreScopeError(`refused: ${(e as StoreRefError).reason}`);
  }
  const prefix = scope.writes.get(req.store);
  const writable = prefix !== undefined && req.key.startsWith(prefix);
  const readable = writable || !!scope.reads.get(req.store)?.has(req.key);
  const where = JSON.stringify(req.key.slice(0, 200));
  switch (req.op) {
    case "get":
      if (!readable) throw new StoreScopeError(`refused: ${where} is not an object this task reads`);
      return { request: await store.signGet(req.key, seconds) };
    case "put":
      if (!writable) throw new StoreScopeError(`refused: this task writes only under ${prefix ?? "(nothing)"}, not ${where}`);
      return { request: await store.signPut(req.key, seconds) };
    case "multipart-create":
      if (!writable) throw new StoreScopeError(`refused: this task writes only under ${prefix ?? "(nothing)"}, not ${where}`);
      return { uploadId: await store.createMultipart(req.key) };
    case "part":
      if (!writable || !req.uploadId || !req.partNumber) throw new StoreScopeError(`refused: part of ${where}`);
      return { request: await store.signPart(req.key, req.uploadId, req.partNumber, seconds) };
    case "multipart-complete":
      if (!writable || !req.uploadId || !Array.isArray(req.parts)) throw new StoreScopeError(`refused: completing ${where}`);
      await store.completeMultipart(req.key, req.uploadId, req.parts);
      return {};
    case "multipart-abort":
      if (!writable || !req.uploadId) throw new StoreScopeError(`refused: aborting ${where}`);
      await store.abortMultipart(req.key, req.uploadId);
      return {};
    default:
      throw new StoreScopeError(`refused: unknown operation ${JSON.stringify(String(req.op).slice(0, 40))}`);
  }
}
