// ManagerCluster: the provider-neutral contract for the manager's home in a
// region — a managed Kubernetes cluster with private nodes, encrypted secrets,
// control-plane logs and a restricted API endpoint; a static public IP for the
// manager's LoadBalancer Service; and a managed PostgreSQL reachable only from
// inside the network. Per-cloud resources: aws.ts (EKS Auto Mode, Elastic IPs
// on an NLB, RDS), gcp.ts (GKE, regional address, Cloud SQL), azure.ts (AKS,
// Static Standard public IP, PostgreSQL flexible server). The Kubernetes
// objects are in deployment.ts (ManagerDeployment).
import * as pulumi from "@pulumi/pulumi";
import { type Cloud, ConfigError, isCloud, unreachable } from "../common.js";
import type { NetworkRefs } from "../network/index.js";
import { parseCidr } from "../network/plan.js";
import { createAwsManagerCluster } from "./aws.js";
import { createGcpManagerCluster } from "./gcp.js";
import { createAzureManagerCluster } from "./azure.js";
import type { WorkloadIdentityRefs } from "./identity.js";

export * from "./deployment.js";
export * from "./identity.js";

export interface DatabaseOptions {
  /** AWS instance class / Cloud SQL tier / Azure SKU name */
  size?: string;
  storageGb?: number;
  backupRetentionDays?: number;
  highAvailability?: boolean;
}

export interface ManagerClusterArgs {
  cloud: Cloud;
  region: string;
  network: NetworkRefs;
  /** CIDRs allowed to reach the Kubernetes API (operators, CI). Empty: private endpoint only. */
  apiAllowedCidrs: string[];
  kubernetesVersion?: string;
  /** node VM type (GKE/AKS; EKS Auto Mode chooses) */
  nodeSize?: string;
  database?: DatabaseOptions;
  /** generated once and kept in state (components/pki GeneratedSecret) */
  databasePassword: pulumi.Input<string>;
  gcpProject?: pulumi.Input<string>;
  azure?: { resourceGroupName: pulumi.Input<string>; resourceGroupId: pulumi.Input<string>; tenantId?: pulumi.Input<string> };
  tags?: Record<string, string>;
}

/** How the manager's LoadBalancer Service binds the static IP on each cloud. */
export interface LoadBalancerBinding {
  annotations: Record<string, string>;
  loadBalancerIP?: string;
  loadBalancerClass?: string;
}

export type StaticIpRef =
  | { cloud: "aws"; allocationIds: string[]; publicSubnetIds: string[] }
  | { cloud: "gcp"; address: string; addressName: string }
  | { cloud: "azure"; publicIpName: string; resourceGroupName: string };

/** The Service annotations (and fields) that pin the manager's load balancer to the static IP. */
export function loadBalancerBinding(ip: StaticIpRef): LoadBalancerBinding {
  switch (ip.cloud) {
    case "aws":
      if (ip.allocationIds.length !== ip.publicSubnetIds.length)
        throw new Error("AWS: one Elastic IP allocation per NLB subnet is required");
      return {
        // EKS Auto Mode's built-in load balancing: an internet-facing NLB on the Elastic IPs, pods as IP targets.
        loadBalancerClass: "eks.amazonaws.com/nlb",
        annotations: {
          "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
          "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
          "service.beta.kubernetes.io/aws-load-balancer-subnets": ip.publicSubnetIds.join(","),
          "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": ip.allocationIds.join(","),
          "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
        },
      };
    case "gcp":
      return {
        // Backend-service-based external passthrough NLB on the reserved regional address.
        loadBalancerIP: ip.address,
        annotations: { "cloud.google.com/l4-rbs": "enabled", "networking.gke.io/load-balancer-ip-addresses": ip.addressName },
      };
    case "azure":
      return {
        annotations: {
          "service.beta.kubernetes.io/azure-pip-name": ip.publicIpName,
          "service.beta.kubernetes.io/azure-load-balancer-resource-group": ip.resourceGroupName,
        },
      };
  }
}

export function validateApiAllowedCidrs(cidrs: unknown, key = "framefleet:manager.apiAllowedCidrs"): string[] {
  if (cidrs === undefined) return [];
  if (!Array.isArray(cidrs)) throw new ConfigError(key, "must be a list of CIDR blocks");
  return cidrs.map((c, i) => {
    if (typeof c !== "string") throw new ConfigError(`${key}[${i}]`, "must be a CIDR block");
    parseCidr(c, `${key}[${i}]`);
    if (c.endsWith("/0")) throw new ConfigError(`${key}[${i}]`, "the Kubernetes API must not be open to the whole internet");
    return c;
  });
}

export interface ManagerClusterRefs {
  /** kubeconfig for a Pulumi Kubernetes provider (secret) */
  kubeconfig: pulumi.Output<string>;
  /** the manager's public address(es) */
  staticIps: pulumi.Output<string>[];
  binding: pulumi.Output<LoadBalancerBinding>;
  database: { host: pulumi.Output<string>; port: number; name: string; user: string };
  /** what the manager's workload identity binds to */
  workload: WorkloadIdentityRefs;
}

export class ManagerCluster extends pulumi.ComponentResource {
  readonly refs: ManagerClusterRefs;
  readonly kubeconfig: pulumi.Output<string>;
  readonly staticIps: pulumi.Output<string[]>;
  /** postgres://user:password@host:port/db?sslmode=require (secret) */
  readonly databaseUrl: pulumi.Output<string>;

  constructor(name: string, args: ManagerClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!isCloud(args.cloud)) throw new ConfigError("framefleet:cloud", `unknown cloud "${String(args.cloud)}"`);
    const a = { ...args, apiAllowedCidrs: validateApiAllowedCidrs(args.apiAllowedCidrs) };
    super("framefleet:manager:ManagerCluster", name, {}, opts);
    switch (a.cloud) {
      case "aws":
        this.refs = createAwsManagerCluster(this, name, a);
        break;
      case "gcp":
        this.refs = createGcpManagerCluster(this, name, a);
        break;
      case "azure":
        this.refs = createAzureManagerCluster(this, name, a);
        break;
      default:
        unreachable(a.cloud, "cloud");
    }
    this.kubeconfig = pulumi.secret(this.refs.kubeconfig);
    this.staticIps = pulumi.all(this.refs.staticIps);
    const db = this.refs.database;
    this.databaseUrl = pulumi.secret(
      pulumi.interpolate`postgres://${db.user}:${pulumi.output(args.databasePassword).apply(encodeURIComponent)}@${db.host}:${db.port}/${db.name}?sslmode=require`,
    );
    this.registerOutputs({ staticIps: this.staticIps, kubeconfig: this.kubeconfig });
  }
}

/** A kubeconfig whose user runs an exec credential plugin (no static credentials in state). */
export function execKubeconfig(p: {
  name: string;
  server: string;
  caData: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: p.name, cluster: { server: p.server, "certificate-authority-data": p.caData } }],
    contexts: [{ name: p.name, context: { cluster: p.name, user: p.name } }],
    "current-context": p.name,
    users: [
      {
        name: p.name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: p.command,
            args: p.args,
            env: p.env ? Object.entries(p.env).map(([name, value]) => ({ name, value })) : null,
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}
