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
  /**
   * the type's capacity and list prices, for the manager's autoscaler when
   * runtime/manager/autoscaler/pricing.ts does not know the type (or the
   * region's prices differ); passed through to manager.json as given
   */
  shape?: InstanceShape;
}

export interface InstanceShape {
  cpuMillis: number;
  memoryMb: number;
  gpus?: number;
  /** USD per host-hour */
  onDemandPerHour: number;
  spotPerHour: number;
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

export interface ValidPoolSpec extends Required<Omit<PoolSpec, "gpu" | "machineImage" | "instanceTypes">> {
  instanceTypes: { type: string; weight: number; shape?: InstanceShape }[];
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
    // the manager's autoscaler sizes groups in hosts; a weighted ASG counts capacity units, so the two
    // would disagree about every size — refused here, at preview, rather than when the manager starts
    if (t.weight !== undefined && t.weight !== 1) {
      throw new ConfigError(
        `${key}.instanceTypes[${i}].weight`,
        "must be 1 (or left out): the runtime autoscaler sizes pools in hosts, not weighted capacity units",
      );
    }
    if (t.shape !== undefined) {
      if (!t.shape || typeof t.shape !== "object")
        throw new ConfigError(`${key}.instanceTypes[${i}].shape`, "must be { cpuMillis, memoryMb, gpus, onDemandPerHour, spotPerHour }");
      for (const f of ["cpuMillis", "memoryMb", "onDemandPerHour", "spotPerHour"] as const) {
        const v = t.shape[f];
        if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
          throw new ConfigError(`${key}.instanceTypes[${i}].shape.${f}`, `must be a positive number, got ${JSON.stringify(v)}`);
      }
      const g = t.shape.gpus;
      if (g !== undefined && (!Number.isInteger(g) || g < 0))
        throw new ConfigError(`${key}.instanceTypes[${i}].shape.gpus`, `must be a non-negative integer, got ${JSON.stringify(g)}`);
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
    instanceTypes: p.instanceTypes.map((t) => ({ type: t.type, weight: t.weight ?? 1, ...(t.shape ? { shape: t.shape } : {}) })),
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
  /** the same groups as the manager's autoscaler drives them (`poolHostGroups`) */
  hostGroups: PoolHostGroup[];
}

/**
 * One cloud group of a pool as the runtime autoscaler sees it. `capacityType`
 * is what a host added to the group is: `mixed` where the cloud picks per host
 * (an AWS mixed-instances ASG or an Azure priority-mix VMSS with a base or a
 * share between 0 and 100%), so the autoscaler cannot choose it. Instance
 * shapes and prices are looked up by type in the manager, not here.
 */
export interface PoolHostGroup {
  /** the ASG / MIG / VMSS name */
  name: string;
  capacityType: "spot" | "on-demand" | "mixed";
  /** the types the cloud may launch, preferred first; weight is AWS's weighted capacity; shape as configured, if it was */
  instanceTypes: { type: string; weight: number; shape?: InstanceShape }[];
  /** hosts this group may hold */
  maxSize: number;
}

/** What a group with AWS's / Azure's base + percentage rule launches. */
export function mixOf(p: ValidPoolSpec): PoolHostGroup["capacityType"] {
  if (p.onDemandPercentageAboveBase === 100 || p.onDemandBase >= p.maxSize) return "on-demand";
  if (p.onDemandBase === 0 && p.onDemandPercentageAboveBase === 0) return "spot";
  return "mixed";
}

/**
 * The pool's groups for the autoscaler. AWS and Azure make one group per pool
 * whose on-demand/spot split the cloud applies; GCP makes a STANDARD and a SPOT
 * MIG, each bounded by its share of maxSize (`gcpGroupBounds`). A group that
 * can hold no host is left out, so the policy never picks it and holds.
 */
export function poolHostGroups(cloud: Cloud, p: ValidPoolSpec, groups: Record<string, string>): PoolHostGroup[] {
  const instanceTypes = p.instanceTypes.map((t) => ({ type: t.type, weight: t.weight, ...(t.shape ? { shape: t.shape } : {}) }));
  const out: PoolHostGroup[] = [];
  switch (cloud) {
    case "aws":
      out.push({ name: groups.asg!, capacityType: mixOf(p), instanceTypes, maxSize: p.maxSize });
      break;
    case "azure":
      out.push({ name: groups.vmss!, capacityType: mixOf(p), instanceTypes, maxSize: p.maxSize });
      break;
    case "gcp": {
      const b = gcpGroupBounds(p);
      out.push({ name: groups.standard!, capacityType: "on-demand", instanceTypes, maxSize: b.standard });
      out.push({ name: groups.spot!, capacityType: "spot", instanceTypes, maxSize: b.spot });
      break;
    }
    default:
      unreachable(cloud, "cloud");
  }
  return out.filter((g) => g.maxSize > 0);
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
      hostGroups: poolHostGroups(args.cloud, spec, groups),
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
