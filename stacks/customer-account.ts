// The `customer-account` stack: framefleet hosts in the customer's own cloud
// account — an outbound-only network and worker pools (plus optional buckets and
// a registry mirror) whose hosts dial a remote manager. No cluster, no database.
import type * as pulumi from "@pulumi/pulumi";
import { regionProgram } from "./region.js";

export default function main(): Promise<Record<string, pulumi.Input<unknown>>> {
  return regionProgram("customer-account");
}
