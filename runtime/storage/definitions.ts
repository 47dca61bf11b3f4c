// Store definitions travel to workers as JSON (never with long-lived secrets);
// this turns one back into a Store.
//
// - `fs`: the embedded default (a local directory).
// - `s3` / `gcs` / `azure`: a cloud bucket/container, optionally under a prefix. They
//   name where credentials come from (`credentials`), never the secret itself: the
//   manager reads the secret from its own environment (or the cloud's default chain)
//   when it builds the store. Only the manager builds these.
// - `presigned`: what a worker gets for a cloud store: signed requests for exactly the
//   keys its task reads, and a signer for writes under its staging prefix (presigned.ts).
import type { Store } from "./store.js";
import { S3Store } from "./s3.js";
import { GcsStore } from "./gcs.js";
import { AzureStore } from "./azure.js";
import type { GrantSigner, PresignedDefinition } from "./presigned.js";
import { uncredentialedStore } from "./worker-stores.js";
import type { TransferProgress } from "./signing.js";
import { cachedResolver } from "./resolver.js";

/**
 * Where a cloud store's credentials come from. `default`: the SDK's chain (instance
 * role, workload identity, managed identity). `env`: environment variables of the
 * manager, by name (e.g. { accessKeyId: "ACME_S3_KEY", secretAccessKey: "ACME_S3_SECRET" }).
 * The API returns this reference; it never returns a value.
 */
export type CredentialsRef = { source: "default" } | { source: "env"; vars: Record<string, string> };

export type CloudKind = "s3" | "gcs" | "azure";

export interface CloudDefinition {
  kind: CloudKind;
  /** bucket (S3, GCS) or container (Azure) */
  bucket: string;
  prefix?: string;
  region?: string;
  /** custom endpoint: S3-compatible server, GCS emulator, Azure blob endpoint (https://<account>.blob.core.windows.net) */
  endpoint?: string;
  credentials?: CredentialsRef;
}

export type StoreDefinition = { kind: "fs"; root: string } | CloudDefinition | PresignedDefinition;
export type StoreDefinitions = Record<string, StoreDefinition>;

export interface StoreBuildOptions {
  /** presigned stores: how writes get signed (the worker's line to the manager) */
  signer?: GrantSigner;
  /** transfer progress of cloud and presigned stores */
  onProgress?: TransferProgress;
  /** where `env` credentials are read from (default process.env) */
  env?: Record<string, string | undefined>;
}

export function isCloudKind(kind: string): kind is CloudKind {
  return kind === "s3" || kind === "gcs" || kind === "azure";
}

/** The secret values a credentials reference names; throws if one is unset. */
export function resolveCredentials(
  name: string,
  ref: CredentialsRef | undefined,
  env: Record<string, string | undefined> = process.env,
): Record<string, string> | undefined {
  if (!ref || ref.source === "default") return undefined;
  const out: Record<string, string> = {};
  for (const [field, variable] of Object.entries(ref.vars)) {
    const v = env[variable];
    if (v === undefined || v === "")
      throw new Error(`store ${name}: credentials variable ${variable} (for ${field}) is not set on the manager`);
    out[field] = v;
  }
  return out;
}

export function storeFromDefinition(name: string, def: StoreDefinition, opts: StoreBuildOptions = {}): Store {
  switch (def.kind) {
    case "fs":
    case "presigned":
      return uncredentialedStore(name, def, opts);
    case "s3": {
      const c = resolveCredentials(name, def.credentials, opts.env);
      return new S3Store(name, {
        bucket: def.bucket,
        prefix: def.prefix,
        region: def.region,
        endpoint: def.endpoint,
        onProgress: opts.onProgress,
        credentials: c
          ? {
              accessKeyId: c.accessKeyId ?? "",
              secretAccessKey: c.secretAccessKey ?? "",
              ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
            }
          : undefined,
      });
    }
    case "gcs": {
      const c = resolveCredentials(name, def.credentials, opts.env);
      return new GcsStore(name, {
        bucket: def.bucket,
        prefix: def.prefix,
        endpoint: def.endpoint,
        credentials: c,
        onProgress: opts.onProgress,
      });
    }
    case "azure": {
      const c = resolveCredentials(name, def.credentials, opts.env);
      return new AzureStore(name, {
        container: def.bucket,
        prefix: def.prefix,
        endpoint: def.endpoint,
        credentials: c,
        onProgress: opts.onProgress,
      });
    }
    default:
      throw new Error(`store ${name}: unsupported kind ${(def as { kind: string }).kind}`);
  }
}

export function storeResolver(defs: StoreDefinitions, opts: StoreBuildOptions = {}): (name: string) => Store {
  return cachedResolver(defs, (name, def) => storeFromDefinition(name, def, opts));
}
