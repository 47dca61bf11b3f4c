// PKI rules: framefleet's mutual TLS. CA private keys exist only as secrets,
// never in ConfigMaps; TLS is not terminated in front of the manager (client
// certificates must reach it); the keys that protect data rotate and cannot
// be destroyed by accident.
import { resourceRule, stackRule } from "./types.js";
import { T } from "./network.js";
import { containsPrivateKey, get, isFalse, isObj, isTrue, isManagerScoped, label, num, objs, walkStrings } from "./util.js";

export const P = {
  configMap: "kubernetes:core/v1:ConfigMap",
  k8sSecret: "kubernetes:core/v1:Secret",
  awsListener: "aws:lb/listener:Listener",
  awsKmsKey: "aws:kms/key:Key",
  gcpCryptoKey: "gcp:kms/cryptoKey:CryptoKey",
  azKey: "azure-native:keyvault:Key",
  azVault: "azure-native:keyvault:Vault",
} as const;

export const configMapNoPrivateKeys = resourceRule({
  name: "configmap-no-private-keys",
  description:
    "No Kubernetes ConfigMap holds a private key: ConfigMaps are readable by anyone who can read the namespace's configuration and are not encrypted at rest.",
  remediation: "Put keys in a Secret (type kubernetes.io/tls) and mount it; keep only certificates and trust bundles in ConfigMaps.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "pki",
  clouds: ["kubernetes"],
  types: [P.configMap],
  defaults: {},
  check(r) {
    const out: string[] = [];
    for (const field of ["data", "binaryData"]) {
      const d = r.props[field];
      if (!isObj(d)) continue;
      for (const [k, v] of Object.entries(d)) if (containsPrivateKey(v)) out.push(`${label(r)}: ${field}["${k}"] contains a private key`);
    }
    return out;
  },
});

const TLS_TERMINATING_ANNOTATIONS = [
  "service.beta.kubernetes.io/aws-load-balancer-ssl-cert",
  "service.beta.kubernetes.io/aws-load-balancer-ssl-ports",
  "cloud.google.com/app-protocols",
  "appgw.ingress.kubernetes.io/ssl-redirect",
];

interface MtlsCfg extends Record<string, unknown> {
  /** ports that carry mutual TLS to the manager (gRPC) */
  mtlsPorts: number[];
}

export const mtlsPassthrough = resourceRule<MtlsCfg>({
  name: "mtls-passthrough",
  description:
    "Nothing in front of the manager terminates TLS: coordinators and workers authenticate with client certificates, which only the manager can verify, so load balancers pass TCP through.",
  remediation:
    "Remove the TLS certificate annotations from the manager's LoadBalancer Service and use a TCP listener (NLB) on the gRPC port; the manager serves its own certificate from the framefleet CA.",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "pki",
  clouds: ["aws", "kubernetes"],
  types: [T.k8sService, P.awsListener],
  defaults: { mtlsPorts: [8443] },
  configSchema: { properties: { mtlsPorts: { type: "array", items: { type: "integer" }, default: [8443] } } },
  check(r, cfg) {
    const p = r.props;
    if (r.type === P.awsListener) {
      const proto = String(p.protocol ?? "").toUpperCase();
      const port = num(p.port);
      if (!["TLS", "HTTPS"].includes(proto) || port === undefined || !cfg.mtlsPorts.includes(port)) return [];
      if (get(p, "mutualAuthentication.mode") === "passthrough") return [];
      return [`${label(r)}: ${proto} listener on port ${port} terminates the manager's mutual TLS`];
    }
    if (get(p, "spec.type") !== "LoadBalancer" || !isManagerScoped(r)) return [];
    const ann = (get(p, "metadata.annotations") ?? {}) as Record<string, unknown>;
    const found = TLS_TERMINATING_ANNOTATIONS.filter((a) => ann[a] !== undefined);
    return found.length ? [`${label(r)}: annotation ${found.join(", ")} makes the load balancer terminate TLS`] : [];
  },
});

interface RotationCfg extends Record<string, unknown> {
  maxRotationDays: number;
}

export const kmsKeyRotation = resourceRule<RotationCfg>({
  name: "kms-key-rotation",
  description:
    "Customer-managed encryption keys rotate automatically (AWS KMS rotation, Cloud KMS rotationPeriod, Key Vault rotation policy) at least every maxRotationDays.",
  remediation:
    'AWS: enableKeyRotation: true. GCP: rotationPeriod: "7776000s" (90 days). Azure: properties.rotationPolicy.lifetimeActions with a Rotate action.',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "pki",
  clouds: ["aws", "gcp", "azure"],
  types: [P.awsKmsKey, P.gcpCryptoKey, P.azKey],
  defaults: { maxRotationDays: 365 },
  configSchema: { properties: { maxRotationDays: { type: "integer", minimum: 1, default: 365 } } },
  check(r, cfg) {
    const p = r.props;
    if (r.type === P.awsKmsKey) {
      const spec = String(p.customerMasterKeySpec ?? p.keySpec ?? "SYMMETRIC_DEFAULT");
      if (spec !== "SYMMETRIC_DEFAULT" || String(p.keyUsage ?? "ENCRYPT_DECRYPT") !== "ENCRYPT_DECRYPT") return []; // only symmetric keys rotate
      if (!isTrue(p.enableKeyRotation)) return [`${label(r)}: enableKeyRotation is not true`];
      const days = num(p.rotationPeriodInDays);
      return days !== undefined && days > cfg.maxRotationDays
        ? [`${label(r)}: rotates every ${days} days, more than ${cfg.maxRotationDays}`]
        : [];
    }
    if (r.type === P.gcpCryptoKey) {
      if (String(p.purpose ?? "ENCRYPT_DECRYPT") !== "ENCRYPT_DECRYPT") return [];
      const m = /^(\d+(?:\.\d+)?)s$/.exec(String(p.rotationPeriod ?? ""));
      if (!m) return [`${label(r)}: no rotationPeriod`];
      const days = Number(m[1]) / 86400;
      return days > cfg.maxRotationDays
        ? [`${label(r)}: rotationPeriod is ${Math.round(days)} days, more than ${cfg.maxRotationDays}`]
        : [];
    }
    const actions = objs(get(p, "properties.rotationPolicy.lifetimeActions"));
    return actions.some((a) => String(get(a, "action.type") ?? "").toLowerCase() === "rotate")
      ? []
      : [`${label(r)}: no rotation policy with a Rotate action`];
  },
});

export const keyVaultProtected = resourceRule({
  name: "key-vault-protected",
  description:
    "Azure Key Vaults holding framefleet's keys have soft delete and purge protection, so a deleted key (and all data encrypted with it) can be recovered.",
  remediation: "properties: { enableSoftDelete: true, enablePurgeProtection: true, enableRbacAuthorization: true }.",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "pki",
  clouds: ["azure"],
  types: [P.azVault],
  defaults: {},
  check(r) {
    const out: string[] = [];
    if (!isTrue(get(r.props, "properties.enablePurgeProtection"))) out.push(`${label(r)}: enablePurgeProtection is not true`);
    if (isFalse(get(r.props, "properties.enableSoftDelete"))) out.push(`${label(r)}: enableSoftDelete is false`);
    return out;
  },
});

/** A property path looks like it holds a private key by name. */
const KEY_NAME = /(private.?key|ca.?key|signing.?key|key.?pem|tls\.key)$/i;

function covered(path: string, secretPaths: string[]): boolean {
  return secretPaths.some((s) => path === s || path.startsWith(`${s}.`));
}

export const caPrivateKeysSecret = stackRule({
  name: "ca-private-keys-secret",
  description:
    "CA (and any other) private keys appear in the stack only as Pulumi secrets: every input that holds a PEM private key, or is named like one, is marked secret, so it is encrypted in state and masked in output.",
  remediation:
    "Wrap the value in pulumi.secret(...) or list the property in additionalSecretOutputs; Kubernetes Secret data is already secret.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "pki",
  clouds: ["aws", "gcp", "azure", "kubernetes"],
  defaults: {},
  checkStack(rs) {
    const out: { urn: string; message: string }[] = [];
    for (const r of rs) {
      const secrets = r.secretPaths ?? [];
      const leaks = new Set<string>();
      walkStrings(r.props, (path, s) => {
        if (path === "__provider" || s === "") return;
        // Kubernetes Secret data/stringData are marked secret by the provider itself
        if (r.type === P.k8sSecret && /^(data|stringData)(\.|$)/.test(path)) return;
        const byValue = containsPrivateKey(s);
        const byName = KEY_NAME.test(path.split(".").pop() ?? "") && !/^(arn:|projects\/|https:\/\/|\/subscriptions\/)/.test(s);
        if ((byValue || byName) && !covered(path, secrets)) leaks.add(path);
      });
      for (const path of leaks) out.push({ urn: r.urn, message: `${label(r)}: "${path}" holds a private key but is not a secret` });
    }
    return out;
  },
});

export const pkiRules = [configMapNoPrivateKeys, mtlsPassthrough, kmsKeyRotation, keyVaultProtected, caPrivateKeysSecret];
