// The manager's view of every tenant's stores: the shared ones from its configuration
// (the embedded `local` fs store) plus those each tenant registered through the API
// (the `stores` table). The manager alone builds cloud stores, with credentials read
// from its own environment by reference; workers get per-assignment presigned grants.
import type { Json } from "../engine/types.js";
import {
  isCloudKind,
  storeFromDefinition,
  type CloudDefinition,
  type StoreDefinition,
  type StoreDefinitions,
} from "../storage/definitions.js";
import { presignedDefinition, signForTask, taskScope, type ScopedTask } from "../storage/grants.js";
import type { SignRequestBody, SignResponseBody } from "../storage/presigned.js";
import type { Store } from "../storage/store.js";
import { listStoreRows, type Db, type StoreRow } from "./store/index.js";

export interface TenantStoresOptions {
  /** how long a task's signed requests stay valid (S3 allows at most 7 days) */
  grantSeconds?: number;
  env?: Record<string, string | undefined>;
}

export function rowToDefinition(r: Pick<StoreRow, "kind" | "bucket" | "prefix" | "region" | "endpoint" | "credentials">): CloudDefinition {
  return {
    kind: r.kind,
    bucket: r.bucket,
    ...(r.prefix ? { prefix: r.prefix } : {}),
    ...(r.region ? { region: r.region } : {}),
    ...(r.endpoint ? { endpoint: r.endpoint } : {}),
    credentials: r.credentials,
  };
}

export class TenantStores {
  private readonly cache = new Map<string, Store>();
  readonly grantSeconds: number;

  constructor(
    private readonly db: Db,
    private readonly shared: StoreDefinitions,
    private readonly opts: TenantStoresOptions = {},
  ) {
    this.grantSeconds = Math.min(7 * 24 * 3600, Math.max(60, opts.grantSeconds ?? 12 * 3600));
  }

  /** names a tenant may use in compositions */
  async names(tenant: string): Promise<string[]> {
    return Object.keys(await this.definitions(tenant));
  }

  reservedNames(): string[] {
    return Object.keys(this.shared);
  }

  async definitions(tenant: string): Promise<StoreDefinitions> {
    const defs: StoreDefinitions = { ...this.shared };
    for (const r of await listStoreRows(this.db, tenant)) if (!(r.name in this.shared)) defs[r.name] = rowToDefinition(r);
    return defs;
  }

  private build(tenant: string, name: string, def: StoreDefinition): Store {
    const id = `${tenant}\u0000${name}\u0000${JSON.stringify(def)}`;
    let s = this.cache.get(id);
    if (!s) {
      s = storeFromDefinition(name, def, { env: this.opts.env });
      this.cache.set(id, s);
    }
    return s;
  }

  /** A synchronous resolver over the tenant's stores as they are now (commit, cleanup, watch folders). */
  async resolver(tenant: string): Promise<(name: string) => Store> {
    const defs = await this.definitions(tenant);
    return (name) => {
      const def = Object.prototype.hasOwnProperty.call(defs, name) ? defs[name] : undefined;
      if (!def) throw new Error(`store ${JSON.stringify(name)} is not available to tenant ${tenant}`);
      return this.build(tenant, name, def);
    };
  }

  /**
   * The store definitions one assignment carries: the shared fs stores as before, and
   * for each cloud store the task touches, a presigned grant for exactly its scope.
   */
  async forAssignment(tenant: string, task: ScopedTask): Promise<Json> {
    const defs = await this.definitions(tenant);
    const out: Record<string, Json> = {};
    for (const [name, def] of Object.entries(defs)) if (def.kind === "fs") out[name] = def as unknown as Json;
    const scope = taskScope(task);
    const touched = new Set([...scope.reads.keys(), ...scope.writes.keys()]);
    for (const name of touched) {
      const def = Object.prototype.hasOwnProperty.call(defs, name) ? defs[name] : undefined;
      if (!def || !isCloudKind(def.kind)) continue;
      out[name] = (await presignedDefinition(this.build(tenant, name, def), def.kind, name, scope, this.grantSeconds)) as unknown as Json;
    }
    return out;
  }

  /** Signs one request of a task attempt whose lease the caller has checked. */
  async sign(tenant: string, task: ScopedTask, req: SignRequestBody): Promise<SignResponseBody> {
    const defs = await this.definitions(tenant);
    const def = Object.prototype.hasOwnProperty.call(defs, req.store) ? defs[req.store] : undefined;
    if (!def || !isCloudKind(def.kind))
      throw new Error(`store ${JSON.stringify(String(req.store).slice(0, 64))} is not a cloud store of this tenant`);
    return signForTask(this.build(tenant, req.store, def), taskScope(task), req, this.grantSeconds);
  }
}
