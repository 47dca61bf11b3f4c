// The `region` stack: one framefleet region (manager local or remote) on one cloud.
import * as pulumi from "@pulumi/pulumi";
import { Region } from "../components/region.js";
import { parseRegionConfig, readRawConfig } from "./config.js";
import { cloudProvider } from "./providers.js";

export async function regionProgram(kind: "region" | "customer-account" = "region"): Promise<Record<string, pulumi.Input<unknown>>> {
  // Validate everything before declaring anything.
  const { spec, controlPlaneStack, hasJoinToken } = parseRegionConfig(readRawConfig(), kind);
  const cfg = new pulumi.Config("framefleet");
  const joinToken = hasJoinToken ? cfg.requireSecret("joinToken") : undefined;

  let rootCa: { certPem: pulumi.Output<string>; keyPem: pulumi.Output<string> } | undefined;
  if (controlPlaneStack) {
    const cp = new pulumi.StackReference(controlPlaneStack);
    rootCa = {
      certPem: cp.requireOutput("rootCertPem") as pulumi.Output<string>,
      keyPem: pulumi.secret(cp.requireOutput("rootKeyPem")) as pulumi.Output<string>,
    };
  }

  const provider = cloudProvider(spec);
  const region = new Region(`${spec.installation}-${spec.region}`, { spec, rootCa, joinToken }, { providers: [provider] });
  return {
    cloud: spec.cloud,
    region: spec.region,
    managerEndpoint: region.managerEndpoint,
    managerStaticIps: region.staticIps,
    egressIps: region.egressIps,
    registryMirror: region.mirror,
    buckets: region.buckets,
    pools: region.pools,
    trustPem: region.trustPem,
  };
}

export default function main(): Promise<Record<string, pulumi.Input<unknown>>> {
  return regionProgram("region");
}
