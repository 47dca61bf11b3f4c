// RegistryMirror: a regional pull-through cache of the upstream registry that
// holds framefleet's images (coordinator, engines), so hosts pull from inside
// the cloud (no upstream rate limits, no upstream outage at scale-out time).
// AWS: ECR pull-through cache rule + repository creation template; GCP: an
// Artifact Registry remote repository; Azure: ACR cache rules.
// Hosts address images as `<mirror>/<path>` (see workers/bootstrap.ts mirrorImage).
import * as pulumi from "@pulumi/pulumi";
import { type Cloud, ConfigError, unreachable } from "../common.js";
import { createAwsMirror } from "./aws.js";
import { createGcpMirror } from "./gcp.js";
import { createAzureMirror } from "./azure.js";

export interface UpstreamRegistry {
  /** e.g. ghcr.io */
  host: string;
  /** repository namespaces to mirror, e.g. ["framefleet"] */
  namespaces: string[];
  /** AWS: Secrets Manager ARN (name must start with ecr-pullthroughcache/); Azure: credential set id. Optional for public images where the cloud allows it. */
  credential?: pulumi.Input<string>;
}

export interface RegistryMirrorArgs {
  cloud: Cloud;
  region: string;
  upstream: UpstreamRegistry;
  gcpProject?: pulumi.Input<string>;
  azure?: { resourceGroupName: pulumi.Input<string> };
  /** AWS account id (default: the caller's) */
  awsAccountId?: pulumi.Input<string>;
  tags?: Record<string, string>;
}

/** Validate the upstream and derive the mirror's local prefix (e.g. ghcr.io -> ghcr). */
export function mirrorPrefix(u: UpstreamRegistry, key = "framefleet:registry"): string {
  if (!u?.host || !/^[a-z0-9.-]+(:\d+)?$/.test(u.host)) throw new ConfigError(`${key}.upstream`, `"${u?.host}" is not a registry host`);
  if (!Array.isArray(u.namespaces) || u.namespaces.length === 0)
    throw new ConfigError(`${key}.namespaces`, "at least one repository namespace to mirror is required");
  for (const [i, n] of u.namespaces.entries()) {
    if (!/^[a-z0-9]+([._/-][a-z0-9]+)*$/.test(n)) throw new ConfigError(`${key}.namespaces[${i}]`, `"${n}" is not a repository namespace`);
  }
  return u.host.split(".")[0]!.replace(/[^a-z0-9-]/g, "-");
}

export interface RegistryMirrorRefs {
  mirror: pulumi.Output<string>;
  accessScope: pulumi.Output<string>;
}

export class RegistryMirror extends pulumi.ComponentResource {
  /** host/prefix that stands in for the upstream host in image references */
  readonly mirror: pulumi.Output<string>;
  /** what hosts are granted pull on: ECR repository ARN pattern / Artifact Registry repository id / ACR resource id */
  readonly accessScope: pulumi.Output<string>;

  constructor(name: string, args: RegistryMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    const prefix = mirrorPrefix(args.upstream);
    super("framefleet:registry:RegistryMirror", name, {}, opts);
    let refs: RegistryMirrorRefs;
    switch (args.cloud) {
      case "aws":
        refs = createAwsMirror(this, name, args, prefix);
        break;
      case "gcp":
        refs = createGcpMirror(this, name, args, prefix);
        break;
      case "azure":
        refs = createAzureMirror(this, name, args, prefix);
        break;
      default:
        unreachable(args.cloud, "cloud");
    }
    this.mirror = refs.mirror;
    this.accessScope = refs.accessScope;
    this.registerOutputs({ mirror: this.mirror, accessScope: this.accessScope });
  }
}
