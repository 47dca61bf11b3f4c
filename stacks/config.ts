// Typed, validated stack configuration. Every stack program calls one of the
// `parse*Config` functions first, so invalid configuration fails before any
// resource is declared, with a ConfigError that names the key
// (e.g. `framefleet:pools[1].onDemandPercentageAboveBase`).
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, isCloud, type Cloud } from "../components/common.js";
import { planAddressSpace } from "../components/network/plan.js";
import { validateApiAllowedCidrs, validateDeploymentOptions, type DatabaseOptions } from "../components/manager/index.js";
import { validatePoolSpec, type PoolSpec } from "../components/workers/index.js";
import { mirrorPrefix } from "../components/registry/index.js";
import { BUCKET_ROLES, type BucketRole } from "../components/buckets/index.js";
import type { ManagerSpec, RegionSpec } from "../components/region.js";

export const NS = "framefleet";
export type StackKind = "region" | "customer-account" | "control-plane";
export const STACK_KINDS: StackKind[] = ["region", "customer-account", "control-plane"];

/** Keys each stack kind accepts under the `framefleet:` namespace. */
const KEYS: Record<StackKind, string[]> = {
  region: [
    "stack",
    "installation",
    "cloud",
    "region",
    "network",
    "manager",
    "pools",
    "images",
    "registry",
    "buckets",
    "gcp",
    "azure",
    "controlPlaneStack",
    "joinToken",
    "tags",
  ],
  "customer-account": [
    "stack",
    "installation",
    "cloud",
    "region",
    "network",
    "manager",
    "pools",
    "images",
    "registry",
    "buckets",
    "gcp",
    "azure",
    "joinToken",
    "tags",
  ],
  "control-plane": ["stack", "installation", "pki", "images", "registry", "tags"],
};

export type RawConfig = Record<string, unknown>;

/** Read every `framefleet:*` key (objects parsed from JSON) from the running stack's configuration. */
export function readRawConfig(): RawConfig {
  const all = pulumi.runtime.allConfig();
  const raw: RawConfig = {};
  for (const [k, v] of Object.entries(all)) {
    const [ns, key] = k.split(":");
    if (ns !== NS || !key) continue;
    try {
      raw[key] = JSON.parse(v);
    } catch {
      raw[key] = v;
    }
  }
  return raw;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);
const k = (key: string) => `${NS}:${key}`;

function str(raw: RawConfig, key: string, opts: { required?: boolean; pattern?: RegExp; hint?: string } = {}): string | undefined {
  const v = raw[key];
  if (v === undefined || v === "") {
    if (opts.required) throw new ConfigError(k(key), `is required${opts.hint ? ` (${opts.hint})` : ""}`);
    return undefined;
  }
  if (typeof v !== "string") throw new ConfigError(k(key), "must be a string");
  if (opts.pattern && !opts.pattern.test(v)) throw new ConfigError(k(key), `"${v}" ${opts.hint ?? `must match ${opts.pattern}`}`);
  return v;
}

function obj(raw: RawConfig, key: string, required = true): Record<string, unknown> | undefined {
  const v = raw[key];
  if (v === undefined) {
    if (required) throw new ConfigError(k(key), "is required");
    return undefined;
  }
  if (!isObj(v)) throw new ConfigError(k(key), "must be an object");
  return v;
}

function checkKnownKeys(raw: RawConfig, kind: StackKind): void {
  for (const key of Object.keys(raw)) {
    if (!KEYS[kind].includes(key)) throw new ConfigError(k(key), `is not a setting of a ${kind} stack (known: ${KEYS[kind].join(", ")})`);
  }
}

export function parseStackKind(raw: RawConfig, fallback?: StackKind): StackKind {
  const v = raw.stack ?? fallback;
  if (!STACK_KINDS.includes(v as StackKind)) throw new ConfigError(k("stack"), `"${String(v)}" must be one of ${STACK_KINDS.join(", ")}`);
  return v as StackKind;
}

function parseCloudAndRegion(raw: RawConfig): { cloud: Cloud; region: string } {
  const cloud = raw.cloud;
  if (cloud === undefined) throw new ConfigError(k("cloud"), "is required (aws, gcp or azure)");
  if (!isCloud(cloud)) throw new ConfigError(k("cloud"), `unknown cloud "${String(cloud)}"; expected aws, gcp or azure`);
  const region = str(raw, "region", {
    required: true,
    pattern: /^[a-z0-9-]{2,40}$/,
    hint: "must be a cloud region such as eu-west-1, europe-west4 or westeurope",
  })!;
  return { cloud, region };
}

function parseImages(raw: RawConfig, needManager: boolean): RegionSpec["images"] & { manager?: string } {
  const o = obj(raw, "images")!;
  const need = ["coordinator", "engineCpu", "engineGpu", ...(needManager ? ["manager"] : [])];
  for (const n of need)
    if (typeof o[n] !== "string" || !o[n]) throw new ConfigError(`${k("images")}.${n}`, "an image reference is required");
  return {
    coordinator: o.coordinator as string,
    engineCpu: o.engineCpu as string,
    engineGpu: o.engineGpu as string,
    manager: o.manager as string | undefined,
  };
}

function parseRegistry(raw: RawConfig): RegionSpec["registry"] {
  const o = obj(raw, "registry")!;
  const u = { host: o.upstream as string, namespaces: o.namespaces as string[], credential: o.credential as string | undefined };
  mirrorPrefix(u, k("registry"));
  return u;
}

function parseManager(raw: RawConfig, kind: StackKind, images: { manager?: string }): ManagerSpec {
  const o = obj(raw, "manager")!;
  const mode = o.mode ?? "local";
  if (mode !== "local" && mode !== "remote") throw new ConfigError(`${k("manager")}.mode`, `"${String(mode)}" must be local or remote`);
  if (kind === "customer-account" && mode !== "remote")
    throw new ConfigError(`${k("manager")}.mode`, "a customer-account stack dials a remote manager: set mode: remote");
  if (mode === "remote") {
    const endpoint = o.endpoint;
    if (typeof endpoint !== "string" || !endpoint)
      throw new ConfigError(`${k("manager")}.endpoint`, "a remote manager needs its endpoint (host:port)");
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(endpoint)) throw new ConfigError(`${k("manager")}.endpoint`, `"${endpoint}" must be host:port`);
    const caBundlePem = o.caBundlePem;
    if (typeof caBundlePem !== "string" || !caBundlePem.includes("BEGIN CERTIFICATE"))
      throw new ConfigError(`${k("manager")}.caBundlePem`, "a remote manager needs the PEM CA bundle that verifies it");
    if (raw.joinToken === undefined)
      throw new ConfigError(k("joinToken"), "a remote manager's join token is required (set it with --secret)");
    const joinEndpoint = o.joinEndpoint;
    if (joinEndpoint !== undefined && (typeof joinEndpoint !== "string" || !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(joinEndpoint))) {
      throw new ConfigError(`${k("manager")}.joinEndpoint`, "must be host:port");
    }
    return { mode, endpoint, joinEndpoint: joinEndpoint as string | undefined, caBundlePem };
  }
  const image = (o.image as string | undefined) ?? images.manager;
  validateDeploymentOptions({ image: image ?? "", replicas: o.replicas as number | undefined }, k("manager"));
  const dnsName = o.dnsName;
  if (dnsName !== undefined && (typeof dnsName !== "string" || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(dnsName)))
    throw new ConfigError(`${k("manager")}.dnsName`, "must be a DNS name");
  return {
    mode,
    image: image!,
    replicas: o.replicas as number | undefined,
    dnsName: dnsName as string | undefined,
    apiAllowedCidrs: validateApiAllowedCidrs(o.apiAllowedCidrs, `${k("manager")}.apiAllowedCidrs`),
    kubernetesVersion: o.kubernetesVersion as string | undefined,
    nodeSize: o.nodeSize as string | undefined,
    database: o.database as DatabaseOptions | undefined,
  };
}

function parseBuckets(raw: RawConfig, installation: string, region: string): RegionSpec["buckets"] {
  const o = obj(raw, "buckets")!;
  if (o.create === true) {
    const namePrefix = (o.namePrefix as string | undefined) ?? `${installation}-${region}`;
    if (!/^[a-z0-9][a-z0-9-]{2,40}$/.test(namePrefix))
      throw new ConfigError(`${k("buckets")}.namePrefix`, `"${namePrefix}" must be 3-41 lowercase letters, digits and dashes`);
    return { create: true, namePrefix };
  }
  const existing = {} as Record<BucketRole, string>;
  for (const role of BUCKET_ROLES) {
    const v = o[role];
    if (typeof v !== "string" || !v) throw new ConfigError(`${k("buckets")}.${role}`, "name the bucket (or set create: true)");
    existing[role] = v;
  }
  const kmsKeyArns = o.kmsKeyArns;
  if (kmsKeyArns !== undefined && !(Array.isArray(kmsKeyArns) && kmsKeyArns.every((x) => typeof x === "string")))
    throw new ConfigError(`${k("buckets")}.kmsKeyArns`, "must be a list of key ARNs");
  return { existing, kmsKeyArns: kmsKeyArns as string[] | undefined };
}

function parsePools(raw: RawConfig): PoolSpec[] {
  const pools = raw.pools ?? [];
  if (!Array.isArray(pools)) throw new ConfigError(k("pools"), "must be a list of pools");
  const names = new Set<string>();
  return pools.map((p, i) => {
    const v = validatePoolSpec(p as PoolSpec, `${k("pools")}[${i}]`);
    if (names.has(v.name)) throw new ConfigError(`${k("pools")}[${i}].name`, `duplicate pool name "${v.name}"`);
    names.add(v.name);
    return p as PoolSpec;
  });
}

export interface RegionStackConfig {
  spec: RegionSpec;
  controlPlaneStack?: string;
  /** the join token, as a secret Output when configured */
  hasJoinToken: boolean;
}

/** Validate a region or customer-account stack's configuration. Pure; throws ConfigError naming the key. */
export function parseRegionConfig(raw: RawConfig, kind: "region" | "customer-account"): RegionStackConfig {
  checkKnownKeys(raw, kind);
  const installation = str(raw, "installation", {
    required: true,
    pattern: /^[a-z][a-z0-9-]{1,20}$/,
    hint: "must be 2-21 lowercase letters, digits and dashes",
  })!;
  const { cloud, region } = parseCloudAndRegion(raw);
  const net = obj(raw, "network")!;
  if (typeof net.cidr !== "string") throw new ConfigError(`${k("network")}.cidr`, "is required (e.g. 10.40.0.0/16)");
  const zones = net.zones as string[] | undefined;
  if (zones !== undefined && !(Array.isArray(zones) && zones.every((z) => typeof z === "string")))
    throw new ConfigError(`${k("network")}.zones`, "must be a list of zone names");
  if (zones && cloud !== "aws") throw new ConfigError(`${k("network")}.zones`, `${cloud} subnets are regional; zones apply to aws only`);
  planAddressSpace(net.cidr, zones?.length ?? (cloud === "aws" ? 3 : 1), `${k("network")}.cidr`);
  const images = parseImages(raw, false);
  const manager = parseManager(raw, kind, images);
  if (manager.mode === "local" && !manager.image) throw new ConfigError(`${k("images")}.manager`, "a local manager needs an image");
  const registry = parseRegistry(raw);
  if (cloud === "aws" && REGISTRIES_NEEDING_CREDENTIALS.includes(registry.host) && !registry.credential) {
    throw new ConfigError(
      `${k("registry")}.credential`,
      `ECR pull-through from ${registry.host} needs a Secrets Manager secret (name prefix ecr-pullthroughcache/)`,
    );
  }
  const pools = parsePools(raw);
  const buckets = parseBuckets(raw, installation, region);
  let gcp: RegionSpec["gcp"];
  if (cloud === "gcp") {
    const g = obj(raw, "gcp")!;
    if (typeof g.project !== "string" || !g.project) throw new ConfigError(`${k("gcp")}.project`, "the GCP project id is required");
    gcp = { project: g.project };
  }
  let azure: RegionSpec["azure"];
  if (cloud === "azure") {
    const a = obj(raw, "azure")!;
    if (typeof a.sshPublicKey !== "string" || !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) /.test(a.sshPublicKey))
      throw new ConfigError(`${k("azure")}.sshPublicKey`, "an SSH public key is required (hosts allow no passwords)");
    azure = { sshPublicKey: a.sshPublicKey, resourceGroupName: a.resourceGroupName as string | undefined };
  }
  const tags = raw.tags;
  if (tags !== undefined && !(isObj(tags) && Object.values(tags).every((v) => typeof v === "string")))
    throw new ConfigError(k("tags"), "must map names to strings");
  const controlPlaneStack = str(raw, "controlPlaneStack", {
    pattern: /^[\w.-]+(\/[\w.-]+){0,2}$/,
    hint: "must be a stack name such as org/framefleet/control-plane",
  });
  return {
    spec: {
      installation,
      cloud,
      region,
      network: { cidr: net.cidr, zones, natPerZone: net.natPerZone as boolean | undefined },
      manager,
      pools,
      images,
      registry,
      buckets,
      gcp,
      azure,
      tags: tags as Record<string, string> | undefined,
    },
    controlPlaneStack,
    hasJoinToken: raw.joinToken !== undefined,
  };
}

/** Upstreams whose ECR pull-through cache rules require credentials. */
export const REGISTRIES_NEEDING_CREDENTIALS = ["ghcr.io", "registry-1.docker.io", "registry.gitlab.com"];

export interface ControlPlaneConfig {
  installation: string;
  rootValidityDays: number;
  images?: Record<string, string>;
  registry?: RegionSpec["registry"];
}

export function parseControlPlaneConfig(raw: RawConfig): ControlPlaneConfig {
  checkKnownKeys(raw, "control-plane");
  const installation = str(raw, "installation", {
    required: true,
    pattern: /^[a-z][a-z0-9-]{1,20}$/,
    hint: "must be 2-21 lowercase letters, digits and dashes",
  })!;
  const pki = obj(raw, "pki", false) ?? {};
  const rootValidityDays = (pki.rootValidityDays as number | undefined) ?? 3650;
  if (!Number.isInteger(rootValidityDays) || rootValidityDays < 365)
    throw new ConfigError(`${k("pki")}.rootValidityDays`, "must be a whole number of days, at least 365");
  return {
    installation,
    rootValidityDays,
    images: raw.images as Record<string, string> | undefined,
    registry: raw.registry === undefined ? undefined : parseRegistry(raw),
  };
}
