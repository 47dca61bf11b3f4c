// CertificateAuthority: the installation's root, a region's intermediate and the
// manager's server certificate, as Pulumi dynamic resources over runtime/pki
// (node-forge). Private keys are Pulumi secrets; rotation is by replacement
// (change validity, region, names or the issuer, and a new certificate is made).
import * as pulumi from "@pulumi/pulumi";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../common.js";
import { generatedSecretProvider, pkiProvider, type PkiInputs } from "./provider.js";

export * from "./provider.js";

/** runtime/pki, resolved once at declaration time and handed to the provider as an input. */
export const PKI_MODULE = fileURLToPath(new URL("../../runtime/pki/index.ts", import.meta.url));

type In<T> = { [K in keyof T]: pulumi.Input<T[K]> };

class PkiMaterial extends pulumi.dynamic.Resource {
  declare readonly certPem: pulumi.Output<string>;
  declare readonly keyPem: pulumi.Output<string>;
  declare readonly chainPem: pulumi.Output<string>;
  declare readonly notAfter: pulumi.Output<string>;
  constructor(name: string, inputs: In<PkiInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      pkiProvider,
      name,
      { ...inputs, certPem: undefined, keyPem: undefined, chainPem: undefined, notAfter: undefined },
      { ...opts, additionalSecretOutputs: ["keyPem", "issuerKeyPem"] },
      "framefleet-pki",
      "Certificate",
    );
  }
}

export interface CaMaterial {
  certPem: pulumi.Output<string>;
  /** secret */
  keyPem: pulumi.Output<string>;
  chainPem: pulumi.Output<string>;
}

export interface CertificateAuthorityArgs {
  /** create a root with this common name, or reuse an existing root (e.g. from the control-plane stack) */
  root: { commonName: string; validityDays?: number } | { certPem: pulumi.Input<string>; keyPem: pulumi.Input<string> };
  /** when set: an intermediate for this region */
  region?: string;
  intermediateValidityDays?: number;
  /** when set (needs region): the manager's TLS server certificate */
  manager?: { dnsNames: pulumi.Input<string[]>; ipAddresses: pulumi.Input<string[]>; validityDays?: number };
}

export function validateCaArgs(a: CertificateAuthorityArgs): void {
  if ("commonName" in a.root && !a.root.commonName) throw new ConfigError("framefleet:pki.rootCommonName", "a root CA needs a common name");
  if (a.region !== undefined && !/^[a-z0-9-]{1,63}$/.test(a.region))
    throw new ConfigError("framefleet:region", `"${a.region}" must match [a-z0-9-]{1,63} to be a certificate identity`);
  if (a.manager && !a.region) throw new ConfigError("framefleet:region", "a manager certificate belongs to a region");
  for (const [k, d] of [
    ["rootValidityDays", "commonName" in a.root ? a.root.validityDays : undefined],
    ["intermediateValidityDays", a.intermediateValidityDays],
    ["managerValidityDays", a.manager?.validityDays],
  ] as const) {
    if (d !== undefined && (!Number.isInteger(d) || d < 1))
      throw new ConfigError(`framefleet:pki.${k}`, "must be a positive number of days");
  }
}

export class CertificateAuthority extends pulumi.ComponentResource {
  readonly root: CaMaterial;
  readonly intermediate?: CaMaterial;
  readonly managerCert?: CaMaterial;
  /** what clients trust: the root certificate */
  readonly trustPem: pulumi.Output<string>;

  constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
    validateCaArgs(args);
    super("framefleet:pki:CertificateAuthority", name, {}, opts);
    const o = { parent: this };
    const material = (m: PkiMaterial): CaMaterial => ({ certPem: m.certPem, keyPem: pulumi.secret(m.keyPem), chainPem: m.chainPem });

    if ("commonName" in args.root) {
      this.root = material(
        new PkiMaterial(
          `${name}-root`,
          { kind: "root", pkiModule: PKI_MODULE, commonName: args.root.commonName, validityDays: args.root.validityDays ?? 3650 },
          o,
        ),
      );
    } else {
      const certPem = pulumi.output(args.root.certPem);
      this.root = { certPem, keyPem: pulumi.secret(args.root.keyPem), chainPem: certPem };
    }
    if (args.region) {
      const inter = new PkiMaterial(
        `${name}-intermediate`,
        {
          kind: "intermediate",
          pkiModule: PKI_MODULE,
          region: args.region,
          validityDays: args.intermediateValidityDays ?? 365,
          issuerCertPem: this.root.certPem,
          issuerKeyPem: this.root.keyPem,
          issuerChainPem: this.root.chainPem,
        },
        o,
      );
      this.intermediate = material(inter);
      if (args.manager) {
        this.managerCert = material(
          new PkiMaterial(
            `${name}-manager`,
            {
              kind: "server",
              pkiModule: PKI_MODULE,
              region: args.region,
              validityDays: args.manager.validityDays ?? 90,
              dnsNames: args.manager.dnsNames,
              ipAddresses: args.manager.ipAddresses,
              issuerCertPem: inter.certPem,
              issuerKeyPem: pulumi.secret(inter.keyPem),
              issuerChainPem: inter.chainPem,
            },
            o,
          ),
        );
      }
    }
    this.trustPem = this.root.certPem;
    this.registerOutputs({ trustPem: this.trustPem, rootKeyPem: this.root.keyPem });
  }
}

/** A random secret (e.g. a database password or a join token) generated once, kept as a Pulumi secret. */
export class GeneratedSecret extends pulumi.dynamic.Resource {
  declare readonly value: pulumi.Output<string>;
  /** `value`, marked secret in this program too */
  readonly secret: pulumi.Output<string>;
  constructor(name: string, args: { bytes?: number; generation?: number } = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      generatedSecretProvider,
      name,
      { bytes: args.bytes ?? 24, generation: args.generation ?? 1, value: undefined },
      { ...opts, additionalSecretOutputs: ["value"] },
      "framefleet-pki",
      "GeneratedSecret",
    );
    this.secret = pulumi.secret(this.value);
  }
}
