// The dynamic provider behind CertificateAuthority. Pulumi serializes these
// methods into the state and runs them in its dynamic-provider host on a real
// `pulumi up`, so they capture nothing from this module: everything they need
// arrives in `inputs` (including the absolute path of runtime/pki). Node
// built-ins come from process.getBuiltinModule and runtime/pki (TypeScript) is
// loaded with tsx's CommonJS API (tsx/cjs/api, resolved next to runtime/pki) —
// this works in the plain Node process that hosts dynamic providers, with no
// loader flags.
import type * as pulumi from "@pulumi/pulumi";

export type PkiKind = "root" | "intermediate" | "server";

export interface PkiInputs {
  kind: PkiKind;
  /** absolute path of runtime/pki/index.ts; machine-specific, never part of a diff */
  pkiModule: string;
  commonName?: string;
  region?: string;
  validityDays?: number;
  issuerCertPem?: string;
  issuerKeyPem?: string;
  issuerChainPem?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
}

export interface PkiOutputs extends PkiInputs {
  certPem: string;
  keyPem: string;
  chainPem: string;
  notAfter: string;
}

/** Inputs whose change means a new certificate (rotation is by replacement). */
export const PKI_REPLACE_KEYS = ["kind", "commonName", "region", "validityDays", "issuerCertPem", "dnsNames", "ipAddresses"] as const;

export const pkiProvider: pulumi.dynamic.ResourceProvider<PkiInputs, PkiOutputs> = {
  async create(inputs: PkiInputs) {
    // No `import()` here: bundlers and test runners rewrite it into helpers that cannot be serialized.
    const { createRequire } = process.getBuiltinModule("node:module") as typeof import("node:module");
    const tsx = createRequire(inputs.pkiModule)("tsx/cjs/api") as typeof import("tsx/cjs/api");
    const pki = tsx.require(inputs.pkiModule, inputs.pkiModule) as typeof import("../../runtime/pki/index.js");
    let ca: { certPem: string; keyPem: string; chainPem: string };
    let validitySeconds = (inputs.validityDays ?? 365) * 86_400;
    if (inputs.kind === "root") {
      ca = pki.createRootCA({ commonName: inputs.commonName!, validityDays: inputs.validityDays });
    } else {
      const issuer = {
        certPem: inputs.issuerCertPem!,
        keyPem: inputs.issuerKeyPem!,
        chainPem: inputs.issuerChainPem ?? inputs.issuerCertPem!,
      };
      if (inputs.kind === "intermediate") {
        ca = pki.createIntermediateCA(issuer, { region: inputs.region!, validityDays: inputs.validityDays });
      } else {
        validitySeconds = (inputs.validityDays ?? 90) * 86_400;
        const leaf = pki.issueKeyAndCertificate(issuer, {
          identity: { kind: "manager", region: inputs.region! },
          validitySeconds,
          server: { dnsNames: inputs.dnsNames ?? [], ipAddresses: inputs.ipAddresses ?? [] },
        });
        ca = { certPem: leaf.certPem, keyPem: leaf.keyPem, chainPem: leaf.chainPem };
      }
    }
    const { X509Certificate, createHash } = process.getBuiltinModule("node:crypto") as typeof import("node:crypto");
    const cert = new X509Certificate(ca.certPem);
    const notAfter = new Date(cert.validTo).toISOString();
    const id = createHash("sha256").update(cert.raw).digest("hex").slice(0, 32);
    return { id, outs: { ...inputs, certPem: ca.certPem, keyPem: ca.keyPem, chainPem: ca.chainPem, notAfter } };
  },

  async diff(_id: string, olds: PkiOutputs, news: PkiInputs) {
    const keys = ["kind", "commonName", "region", "validityDays", "issuerCertPem", "dnsNames", "ipAddresses"] as const;
    const replaces = keys.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
};

export interface GeneratedSecretInputs {
  /** bytes of entropy */
  bytes: number;
  /** bump to rotate */
  generation: number;
}

/** A random secret generated once by the provider and kept (encrypted) in state. */
export const generatedSecretProvider: pulumi.dynamic.ResourceProvider<GeneratedSecretInputs, GeneratedSecretInputs & { value: string }> = {
  async create(inputs: GeneratedSecretInputs) {
    const { randomBytes, createHash } = process.getBuiltinModule("node:crypto") as typeof import("node:crypto");
    const value = randomBytes(inputs.bytes).toString("base64url");
    const id = createHash("sha256").update(value).digest("hex").slice(0, 16);
    return { id, outs: { ...inputs, value } };
  },
  async diff(_id: string, olds: GeneratedSecretInputs, news: GeneratedSecretInputs) {
    const replaces = (["bytes", "generation"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces };
  },
};
