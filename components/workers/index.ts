// WorkerPool: the provider-neutral contract, the capacity arithmetic shared by
// all clouds, and the thin component. Per-cloud resources live in aws.ts
// (Auto Scaling group with a mixed instances policy), gcp.ts (two regional
// MIGs: STANDARD and SPOT) and azure.ts (Flexible VMSS with a priority mix).
//
// Minimum size is 0 everywhere: no work, no hosts. The runtime autoscaler sets
// the desired size; Pulumi declares 0 once and ignores the drift afterwards.
import * as pulumi from "@pulumi/pulumi";
import { type Cloud, ConfigError, isCloud, unreachable } from "../common.js";
import type { NetworkRefs } from "../network/index.js";
import type { JoinTokenSource } from "./bootstrap.js";
import { createAwsWorkerPool } from "./aws.js";
import { createGcpWorkerPool } from "./gcp.js";
import { createAzureWorkerPool } from "./azure.js";

export * from "./bootstrap.js";

export const POOL_KINDS = ["probe", "encode", "package"] as const;
export type PoolKind = (typeof POOL_KINDS)[number];

export interface InstanceTypeChoice {
  /** AWS instance type, GCP machine type or Azure VM size */
  type: string;
  /** capacity units one host of this type counts for (AWS weights; GCP/Azure ranks follow list order) */
  weight?: number;
}

/** A pool as configured: plain data, validated by `validatePoolSpec`. */
export interface PoolSpec {
  name: string;
  kind: PoolKind;
  /** GPU pools must name the accelerator (e.g. nvidia-l4, nvidia-tesla-t4) */
  gpu?: { type: string; count?: number };
  instanceTypes: InstanceTypeChoice[];
  /** upper bound of the pool, in capacity units (hosts when weights are 1) */
  maxSize: number;
  /** hosts that are always on-demand / STANDARD / regular priority */
  onDemandBase?: number;
  /** 0-100: share of capacity above the base that is on-demand; the rest is spot */
  onDemandPercentageAboveBase?: number;
  diskGb?: number;
  /** machine image override: AMI id or `resolve:ssm:` parameter / GCP image / Azure `publisher:offer:sku:version` */
  machineImage?: string;
}

export interface ValidPoolSpec extends Required<Omit<PoolSpec, "gpu" | "machineImage">> {
  gpu?: { type: string; count: number };
  machineImage?: string;
}

/** Validate one pool; `key` is the config path of the pool (e.g. `framefleet:pools[1]`). */
export function validatePoolSpec(p: PoolSpec, key: string): ValidPoolSpec {
  if (!p || typeof p !== "object") throw new ConfigError(key, "a pool must be an object");
  if (!p.name || !/^[a-z][a-z0-9-]{0,30}$/.test(p.name))
    throw new ConfigError(`${key}.name`, `"${p.name}" must be lowercase letters, digits and dashes (max 31)`);
  if (!(POOL_KINDS as readonly string[]).includes(p.kind))
    throw new ConfigError(`${key}.kind`, `"${p.kind}" must be one of ${POOL_KINDS.join(", ")}`);
  if (!Array.isArray(p.instanceTypes) || p.instanceTypes.length === 0)
    throw new ConfigError(`${key}.instanceTypes`, "at least one instance type is required");
  p.instanceTypes.forEach((t, i) => {
    if (!t?.type) throw new ConfigError(`${key}.instanceTypes[${i}].type`, "an instance type is required");
    if (t.weight !== undefined && (!Number.isInteger(t.weight) || t.weight < 1 || t.weight > 999)) {
      throw new ConfigError(`${key}.instanceTypes[${i}].weight`, "must be an integer from 1 to 999");
    }
  });
  if (!Number.isInteger(p.maxSize) || p.maxSize < 0) throw new ConfigError(`${key}.maxSize`, "must be a non-negative integer");
  const base = p.onDemandBase ?? 0;
  if (!Number.isInteger(base) || base < 0 || base > p.maxSize)
    throw new ConfigError(`${key}.onDemandBase`, `must be an integer from 0 to maxSize (${p.maxSize})`);
  const pct = p.onDemandPercentageAboveBase ?? 0;
  if (typeof pct !== "number" || !Number.isInteger(pct) || pct < 0 || pct > 100) {
    throw new ConfigError(`${key}.onDemandPercentageAboveBase`, `${String(pct)} is outside 0-100`);
  }
  let gpu: ValidPoolSpec["gpu"];
  if (p.gpu !== undefined) {
    if (!p.gpu || typeof p.gpu !== "object" || !p.gpu.type)
      throw new ConfigError(`${key}.gpu.type`, "a GPU pool must name its GPU type (e.g. nvidia-l4)");
    const count = p.gpu.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 8) throw new ConfigError(`${key}.gpu.count`, "must be an integer from 1 to 8");
    gpu = { type: p.gpu.type, count };
  }
  const diskGb = p.diskGb ?? 100;
  if (!Number.isInteger(diskGb) || diskGb < 30 || diskGb > 16384)
    throw new ConfigError(`${key}.diskGb`, "must be an integer from 30 to 16384");
  return {
    name: p.name,
    kind: p.kind,
    gpu,
    instanceTypes: p.instanceTypes.map((t) => ({ type: t.type, weight: t.weight ?? 1 })),
    maxSize: p.maxSize,
    onDemandBase: base,
    onDemandPercentageAboveBase: pct,
    diskGb,
    machineImage: p.machineImage,
  };
}

/**
 * How a desired capacity splits into on-demand and spot, by the same rule as an
 * AWS mixed instances policy: the base is on-demand, then `pct`% of the rest
 * (rounded up) is on-demand. The runtime autoscaler uses this for GCP's two
 * groups; AWS and Azure apply it natively.
 */
export function splitCapacity(
  desired: number,
  onDemandBase: number,
  onDemandPercentageAboveBase: number,
): { onDemand: number; spot: number } {
  const base = Math.min(desired, onDemandBase);
  const above = desired - base;
  const od = Math.ceil((above * onDemandPercentageAboveBase) / 100);
  return { onDemand: base + od, spot: above - od };
}

/** Upper bounds of GCP's STANDARD and SPOT groups for a pool at its maximum size. */
export function gcpGroupBounds(p: ValidPoolSpec): { standard: number; spot: number } {
  const s = splitCapacity(p.maxSize, p.onDemandBase, p.onDemandPercentageAboveBase);
  return { standard: s.onDemand, spot: s.spot };
}

/** The distribution the runtime autoscaler needs to drive a pool; published in the manager's config. */
export interface PoolDistribution {
  pool: string;
  kind: PoolKind;
  cloud: Cloud;
  gpu: boolean;
  maxSize: number;
  onDemandBase: number;
  onDemandPercentageAboveBase: number;
  /** ASG name / MIG names (standard, spot) / VMSS name */
  groups: Record<string, string>;
}

export interface HostAccess {
  /** buckets hosts may read: AWS/GCP bucket names, Azure blob container resource ids */
  readBuckets: pulumi.Input<string>[];
  /** buckets hosts may read and write */
  writeBuckets: pulumi.Input<string>[];
  /** AWS: KMS key ARNs protecting those buckets (decrypt/encrypt only) */
  kmsKeyArns?: pulumi.Input<string>[];
  /** AWS: ECR repository ARN pattern of the mirror; GCP: Artifact Registry repository id; Azure: registry resource id */
  registry: pulumi.Input<string>;
  /** AWS: Secrets Manager ARN; GCP: secret id; Azure: Key Vault secret resource id */
  joinTokenSecret: pulumi.Input<string>;
}

export interface WorkerBootstrapArgs {
  managerEndpoint: pulumi.Input<string>;
  /** the manager's join endpoint (default: managerEndpoint) */
  joinEndpoint?: pulumi.Input<string>;
  caBundlePem: pulumi.Input<string>;
  registryMirror: pulumi.Input<string>;
  upstreamRegistry: string;
  coordinatorImage: string;
  engineImage: string;
  joinToken: pulumi.Input<JoinTokenSource>;
}

export interface WorkerPoolArgs {
  cloud: Cloud;
  region: string;
  pool: PoolSpec;
  /** config path of the pool, for error messages */
  configKey?: string;
  network: NetworkRefs;
  bootstrap: WorkerBootstrapArgs;
  access: HostAccess;
  gcpProject?: pulumi.Input<string>;
  azure?: { resourceGroupName: pulumi.Input<string>; sshPublicKey: pulumi.Input<string>; subscriptionId?: pulumi.Input<string> };
  tags?: Record<string, string>;
}

export interface WorkerPoolRefs {
  groups: Record<string, pulumi.Output<string>>;
  /** ASG ARN / MIG self links / VMSS id: what the manager's identity is granted scaling on */
  groupIds: pulumi.Output<string>[];
  /** AWS role ARN / GCP service account email / Azure identity principal id */
  identity: pulumi.Output<string>;
  userData: pulumi.Output<string>;
}

export class WorkerPool extends pulumi.ComponentResource {
  readonly spec: ValidPoolSpec;
  readonly refs: WorkerPoolRefs;
  readonly distribution: pulumi.Output<PoolDistribution>;
  readonly groupIds: pulumi.Output<string>[];

  constructor(name: string, args: WorkerPoolArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything, so bad input declares no resource at all.
    if (!isCloud(args.cloud)) throw new ConfigError("framefleet:cloud", `unknown cloud "${String(args.cloud)}"`);
    const spec = validatePoolSpec(args.pool, args.configKey ?? `pool ${args.pool?.name ?? name}`);
    super("framefleet:workers:WorkerPool", name, {}, opts);
    this.spec = spec;
    switch (args.cloud) {
      case "aws":
        this.refs = createAwsWorkerPool(this, name, args, spec);
        break;
      case "gcp":
        this.refs = createGcpWorkerPool(this, name, args, spec);
        break;
      case "azure":
        this.refs = createAzureWorkerPool(this, name, args, spec);
        break;
      default:
        unreachable(args.cloud, "cloud");
    }
    this.groupIds = this.refs.groupIds;
    this.distribution = pulumi.all(this.refs.groups).apply((groups) => ({
      pool: spec.name,
      kind: spec.kind,
      cloud: args.cloud,
      gpu: !!spec.gpu,
      maxSize: spec.maxSize,
      onDemandBase: spec.onDemandBase,
      onDemandPercentageAboveBase: spec.onDemandPercentageAboveBase,
      groups,
    }));
    this.registerOutputs({ distribution: this.distribution, identity: this.refs.identity });
  }
}

/** Render the bootstrap for a pool once all its inputs are known. */
export function bootstrapOutput(
  args: WorkerPoolArgs,
  spec: ValidPoolSpec,
  render: (o: import("./bootstrap.js").BootstrapOptions) => string,
): pulumi.Output<string> {
  const b = args.bootstrap;
  return pulumi
    .all([b.managerEndpoint, b.joinEndpoint ?? b.managerEndpoint, b.caBundlePem, b.registryMirror, b.joinToken])
    .apply(([managerEndpoint, joinEndpoint, caBundlePem, registryMirror, joinToken]) =>
      render({
        cloud: args.cloud,
        region: args.region,
        pool: spec.name,
        taskPools: [spec.kind],
        gpu: !!spec.gpu,
        managerEndpoint,
        joinEndpoint,
        caBundlePem,
        registryMirror,
        upstreamRegistry: b.upstreamRegistry,
        coordinatorImage: b.coordinatorImage,
        engineImage: b.engineImage,
        joinToken: joinToken as JoinTokenSource,
      }),
    );
}
