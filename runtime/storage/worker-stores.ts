// The stores a worker can build: the local filesystem (embedded region) and
// presigned grants. Workers hold no store credentials, so the cloud SDKs are
// never loaded into a worker process (they cost about a second of CPU to load,
// on every task).
import type { Store } from "./store.js";
import type { StoreBuildOptions, StoreDefinition, StoreDefinitions } from "./definitions.js";
import { FsStore } from "./fs.js";
import { PresignedStore } from "./presigned.js";
import { cachedResolver } from "./resolver.js";

/** A store that needs no credentials: the local filesystem or a presigned grant. */
export function uncredentialedStore(name: string, def: StoreDefinition, opts: StoreBuildOptions = {}): Store {
  switch (def.kind) {
    case "fs":
      return new FsStore(name, def.root);
    case "presigned":
      return new PresignedStore(name, def, { signer: opts.signer, onProgress: opts.onProgress });
    default:
      throw new Error(`store ${name}: a worker is given presigned access, never a ${def.kind} store's credentials`);
  }
}

export function workerStoreResolver(defs: StoreDefinitions, opts: StoreBuildOptions = {}): (name: string) => Store {
  return cachedResolver(defs, (name, def) => uncredentialedStore(name, def, opts));
}
