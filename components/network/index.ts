// OutboundOnlyNetwork: the provider-neutral contract and the thin component.
// Hosts in this network have no public address and accept no inbound
// connection; they reach the manager, the registry mirror and object storage
// through NAT (or private endpoints). Per-cloud resources live in aws.ts,
// gcp.ts and azure.ts; all three return the same NetworkRefs.
import * as pulumi from "@pulumi/pulumi";
import { type Cloud, ConfigError, isCloud, unreachable } from "../common.js";
import { type AddressPlan, planAddressSpace, defaultAwsZones, MAX_ZONES } from "./plan.js";
import { createAwsNetwork } from "./aws.js";
import { createGcpNetwork } from "./gcp.js";
import { createAzureNetwork } from "./azure.js";

export * from "./plan.js";

export interface OutboundOnlyNetworkArgs {
  cloud: Cloud;
  /** AWS region, GCP region or Azure location */
  region: string;
  /** RFC 1918 block, /16 to /20 */
  cidr: string;
  /** AWS: availability-zone names (default: <region>a..c). GCP/Azure subnets are regional. */
  zones?: string[];
  /** AWS: one NAT gateway per zone (default) or a single shared one (cheaper, less available) */
  natPerZone?: boolean;
  /** TCP ports hosts may dial out to (default 443, and the manager's gRPC 8443 and join 8444) */
  egressPorts?: number[];
  /** retention of flow logs, days (default 30) */
  flowLogRetentionDays?: number;
  /** GCP project (default: the provider's) */
  gcpProject?: pulumi.Input<string>;
  /** Azure resource group that holds the region */
  azureResourceGroupName?: pulumi.Input<string>;
  tags?: Record<string, string>;
}

/** What the other components need from a network, on every cloud. */
export interface NetworkRefs {
  cloud: Cloud;
  /** VPC id / network self link / VNet id */
  networkId: pulumi.Output<string>;
  /** subnets that worker hosts are placed in (AWS: one per zone; GCP and Azure: one regional subnet) */
  workerSubnetIds: pulumi.Output<string>[];
  /** subnets for the manager cluster's nodes */
  managerSubnetIds: pulumi.Output<string>[];
  /** subnets for the managed database (AWS: subnet group members; Azure: the delegated subnet; GCP: none, private service access) */
  databaseSubnetIds: pulumi.Output<string>[];
  /** AWS: the small public subnets that hold NAT gateways (and the manager's NLB) */
  publicSubnetIds?: pulumi.Output<string>[];
  /** AWS: the worker security group (no ingress) */
  workerSecurityGroupId?: pulumi.Output<string>;
  /** GCP: network tag carried by worker instances */
  workerNetworkTag?: string;
  /** public addresses all outbound traffic leaves from (NAT) — give these to upstream allow-lists */
  egressIps: pulumi.Output<string>[];
  /** GCP: secondary range names for a VPC-native GKE cluster */
  podsRangeName?: string;
  servicesRangeName?: string;
  /** Azure: the resource group */
  resourceGroupName?: pulumi.Output<string>;
  /** Azure: resource id of the NAT gateway (AKS outboundType userAssignedNATGateway) */
  natGatewayId?: pulumi.Output<string>;
  plan: AddressPlan;
}

export interface NormalizedNetworkArgs extends Required<
  Pick<OutboundOnlyNetworkArgs, "cloud" | "region" | "cidr" | "natPerZone" | "egressPorts" | "flowLogRetentionDays">
> {
  zones: string[];
  gcpProject?: pulumi.Input<string>;
  azureResourceGroupName?: pulumi.Input<string>;
  tags: Record<string, string>;
}

/** Validate and default the arguments; throws ConfigError naming the key. */
export function normalizeNetworkArgs(args: OutboundOnlyNetworkArgs, keyPrefix = "framefleet:network"): NormalizedNetworkArgs {
  if (!isCloud(args.cloud)) throw new ConfigError("framefleet:cloud", `unknown cloud "${String(args.cloud)}"; expected aws, gcp or azure`);
  if (!args.region) throw new ConfigError("framefleet:region", "a region is required");
  const zones = args.cloud === "aws" ? (args.zones?.length ? args.zones : defaultAwsZones(args.region)) : ["regional"];
  if (zones.length > MAX_ZONES) throw new ConfigError(`${keyPrefix}.zones`, `at most ${MAX_ZONES} zones`);
  if (args.cloud === "azure" && !args.azureResourceGroupName) {
    throw new ConfigError("framefleet:azure.resourceGroupName", "an Azure network needs a resource group");
  }
  const egressPorts = args.egressPorts ?? [443, 8443, 8444];
  for (const p of egressPorts) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new ConfigError(`${keyPrefix}.egressPorts`, `port ${p} is not a TCP port`);
  }
  const flowLogRetentionDays = args.flowLogRetentionDays ?? 30;
  if (!Number.isInteger(flowLogRetentionDays) || flowLogRetentionDays < 1) {
    throw new ConfigError(`${keyPrefix}.flowLogRetentionDays`, "must be a positive number of days");
  }
  return {
    cloud: args.cloud,
    region: args.region,
    cidr: args.cidr,
    zones,
    natPerZone: args.natPerZone ?? true,
    egressPorts,
    flowLogRetentionDays,
    gcpProject: args.gcpProject,
    azureResourceGroupName: args.azureResourceGroupName,
    tags: args.tags ?? {},
  };
}

export class OutboundOnlyNetwork extends pulumi.ComponentResource {
  readonly refs: NetworkRefs;
  readonly networkId: pulumi.Output<string>;
  readonly workerSubnetIds: pulumi.Output<string[]>;
  readonly egressIps: pulumi.Output<string[]>;

  constructor(name: string, args: OutboundOnlyNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything, so bad input declares no resource at all.
    const n = normalizeNetworkArgs(args);
    const plan = planAddressSpace(n.cidr, n.zones.length);
    super("framefleet:network:OutboundOnlyNetwork", name, {}, opts);
    switch (n.cloud) {
      case "aws":
        this.refs = createAwsNetwork(this, name, n, plan);
        break;
      case "gcp":
        this.refs = createGcpNetwork(this, name, n, plan);
        break;
      case "azure":
        this.refs = createAzureNetwork(this, name, n, plan);
        break;
      default:
        unreachable(n.cloud, "cloud");
    }
    this.networkId = this.refs.networkId;
    this.workerSubnetIds = pulumi.all(this.refs.workerSubnetIds);
    this.egressIps = pulumi.all(this.refs.egressIps);
    this.registerOutputs({ networkId: this.networkId, workerSubnetIds: this.workerSubnetIds, egressIps: this.egressIps });
  }
}
