// framefleet's Pulumi program (Pulumi.yaml -> package.json "main"). The stack
// kind comes from `framefleet:stack`: region (default), customer-account or
// control-plane. Programs export a function and keep no module-level state, so
// `stacks/synth` can run many stacks in one process.
import type * as pulumi from "@pulumi/pulumi";
import { parseStackKind, readRawConfig } from "./config.js";

export default async function main(): Promise<Record<string, pulumi.Input<unknown>>> {
  const kind = parseStackKind(readRawConfig(), "region");
  switch (kind) {
    case "region":
      return (await import("./region.js")).default();
    case "customer-account":
      return (await import("./customer-account.js")).default();
    case "control-plane":
      return (await import("./control-plane.js")).default();
  }
}
