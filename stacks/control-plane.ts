// The `control-plane` stack: the installation's root CA and shared settings.
// Region stacks read `rootCertPem`/`rootKeyPem` through a StackReference
// (`framefleet:controlPlaneStack`) and sign their intermediates with it.
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "../components/pki/index.js";
import { parseControlPlaneConfig, readRawConfig } from "./config.js";

export default async function main(): Promise<Record<string, pulumi.Input<unknown>>> {
  const cfg = parseControlPlaneConfig(readRawConfig());
  const ca = new CertificateAuthority(`${cfg.installation}-root`, {
    root: { commonName: `${cfg.installation} framefleet root`, validityDays: cfg.rootValidityDays },
  });
  return {
    installation: cfg.installation,
    rootCertPem: ca.root.certPem,
    rootKeyPem: ca.root.keyPem, // secret
    images: cfg.images ?? {},
    registry: cfg.registry ?? {},
  };
}
