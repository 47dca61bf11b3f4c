// Compute rules: how a worker host is built. IMDSv2 only, encrypted disks,
// no long-lived secret in user data, hardened images and metadata, SSH keys
// only, and spot pools that keep the on-demand base their tier needs.
import { resourceRule } from "./types.js";
import { T } from "./network.js";
import { containsPrivateKey, get, isFalse, isObj, isTrue, label, maybeBase64, num, objs, tagsOf, type Obj } from "./util.js";

const GCP_TEMPLATES = [T.gcpInstanceTemplate, T.gcpRegionInstanceTemplate, T.gcpInstance] as string[];
const AWS_EBS_VOLUME = "aws:ebs/volume:Volume";

export const imdsv2Required = resourceRule({
  name: "imdsv2-required",
  description:
    "EC2 hosts require IMDSv2 session tokens (httpTokens: required), which blocks SSRF-style theft of the instance role's credentials.",
  remediation:
    'Set metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } on the launch template or instance.',
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "compute",
  clouds: ["aws"],
  types: [T.awsLaunchTemplate, T.awsInstance],
  defaults: {},
  check(r) {
    const mo = r.props.metadataOptions;
    if (isObj(mo) && mo.httpEndpoint === "disabled") return [];
    const tokens = isObj(mo) ? mo.httpTokens : undefined;
    return tokens === "required"
      ? []
      : [`${label(r)}: metadataOptions.httpTokens is ${JSON.stringify(tokens ?? null)}, so IMDSv1 is allowed`];
  },
});

interface DiskCfg extends Record<string, unknown> {
  /** GCP: also require a Cloud KMS key on every disk (Google encrypts all disks by default) */
  gcpRequireCmek: boolean;
}

export const diskEncryption = resourceRule<DiskCfg>({
  name: "disk-encryption",
  description:
    "Host disks are encrypted: AWS EBS volumes and launch-template block devices declare encrypted: true; Azure scale sets and VMs use encryption at host (or a disk encryption set); GCP disks optionally use a Cloud KMS key.",
  remediation:
    'AWS: blockDeviceMappings: [{ deviceName, ebs: { encrypted: "true", kmsKeyId } }] (root volume included). Azure: virtualMachineProfile.securityProfile.encryptionAtHost: true. GCP (when gcpRequireCmek): disks[].diskEncryptionKey.kmsKeySelfLink.',
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "compute",
  clouds: ["aws", "gcp", "azure"],
  types: [T.awsLaunchTemplate, T.awsInstance, AWS_EBS_VOLUME, ...GCP_TEMPLATES, T.azVmss, T.azVm],
  defaults: { gcpRequireCmek: false },
  configSchema: { properties: { gcpRequireCmek: { type: "boolean", default: false } } },
  check(r, cfg) {
    const out: string[] = [];
    const p = r.props;
    switch (r.type) {
      case T.awsLaunchTemplate: {
        const ebs = objs(p.blockDeviceMappings).filter((m) => isObj(m.ebs));
        if (ebs.length === 0)
          out.push(`${label(r)}: declares no EBS block device, so the root volume's encryption is left to the AMI snapshot`);
        for (const m of ebs)
          if (!isTrue(get(m, "ebs.encrypted"))) out.push(`${label(r)}: block device ${String(m.deviceName ?? "?")} is not encrypted`);
        break;
      }
      case T.awsInstance:
        if (!isTrue(get(p, "rootBlockDevice.encrypted"))) out.push(`${label(r)}: rootBlockDevice.encrypted is not true`);
        for (const d of objs(p.ebsBlockDevices))
          if (!isTrue(d.encrypted)) out.push(`${label(r)}: EBS device ${String(d.deviceName ?? "?")} is not encrypted`);
        break;
      case AWS_EBS_VOLUME:
        if (!isTrue(p.encrypted)) out.push(`${label(r)}: encrypted is not true`);
        break;
      case T.azVmss:
      case T.azVm: {
        const base = r.type === T.azVmss ? "virtualMachineProfile." : "";
        const atHost = isTrue(get(p, `${base}securityProfile.encryptionAtHost`));
        const des = get(p, `${base}storageProfile.osDisk.managedDisk.diskEncryptionSet.id`);
        if (!atHost && des === undefined)
          out.push(`${label(r)}: neither securityProfile.encryptionAtHost nor a disk encryption set is configured`);
        break;
      }
      default:
        if (cfg.gcpRequireCmek) {
          const disks = r.type === T.gcpInstance ? [get(p, "bootDisk"), ...objs(p.attachedDisks)].filter(isObj) : objs(p.disks);
          disks.forEach((d, i) => {
            const key = get(d, "diskEncryptionKey.kmsKeySelfLink") ?? d.kmsKeySelfLink;
            if (!key) out.push(`${label(r)}: disk ${i} has no Cloud KMS key`);
          });
        }
    }
    return out;
  },
});

interface UserDataCfg extends Record<string, unknown> {
  /** extra regular expressions (strings) that mark a secret */
  extraPatterns: string[];
}

const SECRET_PATTERNS: [string, RegExp][] = [
  ["an AWS access key id", /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["an AWS secret access key", /aws_secret_access_key\s*[=:]/i],
  ["a GCP service-account key", /"private_key_id"\s*:/],
  ["an Azure storage account key", /AccountKey=[A-Za-z0-9+/=]{40,}/],
  ["a password, token or API key", /(?:password|passwd|secret|token|api[_-]?key)["']?\s*[=:]\s*["']?(?![/.~])[A-Za-z0-9+/_\-.]{16,}/i],
];

function userDataOf(r: { type: string; props: Obj }): [string, string][] {
  const p = r.props;
  const out: [string, string][] = [];
  const add = (where: string, v: unknown) => {
    if (typeof v !== "string" || !v) return;
    out.push([where, v]);
    const dec = maybeBase64(v);
    if (dec) out.push([`${where} (base64-decoded)`, dec]);
  };
  switch (r.type) {
    case T.awsLaunchTemplate:
      add("userData", p.userData);
      break;
    case T.awsInstance:
      add("userData", p.userData);
      add("userDataBase64", p.userDataBase64);
      break;
    case T.azVmss:
      add("osProfile.customData", get(p, "virtualMachineProfile.osProfile.customData"));
      add("userData", get(p, "virtualMachineProfile.userData"));
      break;
    case T.azVm:
      add("osProfile.customData", get(p, "osProfile.customData"));
      add("userData", p.userData);
      break;
    default:
      add("metadataStartupScript", p.metadataStartupScript);
      if (isObj(p.metadata)) for (const [k, v] of Object.entries(p.metadata)) add(`metadata["${k}"]`, v);
  }
  return out;
}

export const noSecretsInUserData = resourceRule<UserDataCfg>({
  name: "no-secrets-in-user-data",
  description:
    "Host bootstrap (user data, cloud-init, startup scripts, custom data) carries no long-lived secret: no private key, cloud access key or password. Anyone who can describe the instance can read it.",
  remediation:
    "Fetch secrets at boot with the host's identity (instance role / service account / managed identity), and use the one-time join token + CSR flow for the host certificate.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "compute",
  clouds: ["aws", "gcp", "azure"],
  types: [T.awsLaunchTemplate, T.awsInstance, ...GCP_TEMPLATES, T.azVmss, T.azVm],
  defaults: { extraPatterns: [] },
  configSchema: { properties: { extraPatterns: { type: "array", items: { type: "string" }, default: [] } } },
  check(r, cfg) {
    const out = new Set<string>();
    const patterns: [string, RegExp][] = [
      ...SECRET_PATTERNS,
      ...cfg.extraPatterns.map((s): [string, RegExp] => [`a match for /${s}/`, new RegExp(s)]),
    ];
    for (const [where, text] of userDataOf(r)) {
      const w = where.replace(" (base64-decoded)", "");
      if (containsPrivateKey(text)) out.add(`${label(r)}: ${w} contains a PEM private key`);
      for (const [what, re] of patterns) if (re.test(text)) out.add(`${label(r)}: ${w} contains ${what}`);
    }
    return [...out];
  },
});

export const gcpShieldedVm = resourceRule({
  name: "gcp-shielded-vm",
  description:
    "GCP hosts run as Shielded VMs with Secure Boot, vTPM and integrity monitoring, so a tampered boot chain is refused or detected.",
  remediation:
    "shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true } (use a Shielded-VM-capable image; the NVIDIA driver must be signed).",
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "compute",
  clouds: ["gcp"],
  types: GCP_TEMPLATES,
  defaults: {},
  check(r) {
    const s = r.props.shieldedInstanceConfig;
    if (!isObj(s)) return [`${label(r)}: no shieldedInstanceConfig (Secure Boot is off by default)`];
    const out: string[] = [];
    if (!isTrue(s.enableSecureBoot)) out.push(`${label(r)}: Secure Boot is not enabled`);
    if (isFalse(s.enableVtpm)) out.push(`${label(r)}: vTPM is disabled`);
    if (isFalse(s.enableIntegrityMonitoring)) out.push(`${label(r)}: integrity monitoring is disabled`);
    return out;
  },
});

export const gcpInstanceMetadataHardened = resourceRule({
  name: "gcp-instance-metadata-hardened",
  description:
    "GCP host metadata does not enable the interactive serial console and does not turn OS Login off, and project-wide SSH keys are not accepted.",
  remediation:
    'Remove metadata["serial-port-enable"] (or set it to "false"), do not set enable-oslogin to FALSE, and set metadata["block-project-ssh-keys"] = "true".',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "compute",
  clouds: ["gcp"],
  types: GCP_TEMPLATES,
  defaults: {},
  check(r) {
    const md = isObj(r.props.metadata) ? r.props.metadata : {};
    const out: string[] = [];
    if (isTrue(String(md["serial-port-enable"] ?? "").toLowerCase()) || md["serial-port-enable"] === "1")
      out.push(`${label(r)}: metadata serial-port-enable turns on the interactive serial console`);
    if (isFalse(String(md["enable-oslogin"] ?? "").toLowerCase())) out.push(`${label(r)}: metadata enable-oslogin is FALSE`);
    if (isFalse(String(md["block-project-ssh-keys"] ?? "").toLowerCase()))
      out.push(`${label(r)}: metadata block-project-ssh-keys is false`);
    return out;
  },
});

export const azureSshKeysOnly = resourceRule({
  name: "azure-ssh-keys-only",
  description: "Azure Linux scale sets and VMs accept SSH keys only: password authentication is disabled and no admin password is set.",
  remediation: "osProfile.linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [...] } } and no adminPassword.",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "compute",
  clouds: ["azure"],
  types: [T.azVmss, T.azVm],
  defaults: {},
  check(r) {
    const os = r.type === T.azVmss ? get(r.props, "virtualMachineProfile.osProfile") : get(r.props, "osProfile");
    if (!isObj(os)) return [];
    if (isObj(os.windowsConfiguration)) return [`${label(r)}: Windows hosts are not part of framefleet`];
    const out: string[] = [];
    if (!isTrue(get(os, "linuxConfiguration.disablePasswordAuthentication")))
      out.push(`${label(r)}: linuxConfiguration.disablePasswordAuthentication is not true`);
    if (os.adminPassword !== undefined && os.adminPassword !== "") out.push(`${label(r)}: an adminPassword is set`);
    return out;
  },
});

interface TierReq {
  onDemandBase: number;
  onDemandPercentageAboveBase: number;
}
interface SpotCfg extends Record<string, unknown> {
  /** tag (AWS/Azure) naming a pool's tier */
  tierTag: string;
  /** tier assumed when a pool has no tier tag */
  defaultTier: string;
  tiers: Record<string, TierReq>;
}

export const DEFAULT_TIERS: Record<string, TierReq> = {
  // live / deadline work never waits for spot capacity
  realtime: { onDemandBase: 1, onDemandPercentageAboveBase: 100 },
  // the first host is on-demand so a queue always drains, the rest may be spot
  standard: { onDemandBase: 1, onDemandPercentageAboveBase: 0 },
  // back-catalogue / best-effort: all spot
  batch: { onDemandBase: 0, onDemandPercentageAboveBase: 0 },
};

export const spotOnDemandBase = resourceRule<SpotCfg>({
  name: "spot-on-demand-base",
  description:
    "Pools that use spot capacity keep the on-demand base (and on-demand share above it) that their tier requires, so a spot reclaim cannot take a tier's whole capacity away.",
  remediation:
    "AWS: mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity / onDemandPercentageAboveBaseCapacity. Azure: priorityMixPolicy.baseRegularPriorityCount / regularPriorityPercentageAboveBase. Tag the pool with its tier (tierTag) or change the tier table in policy config.",
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "compute",
  clouds: ["aws", "azure"],
  types: [T.awsAsg, T.azVmss],
  defaults: { tierTag: "framefleet:pool-tier", defaultTier: "standard", tiers: DEFAULT_TIERS },
  configSchema: {
    properties: {
      tierTag: { type: "string", default: "framefleet:pool-tier" },
      defaultTier: { type: "string", default: "standard" },
      tiers: {
        type: "object",
        additionalProperties: {
          type: "object",
          properties: {
            onDemandBase: { type: "integer", minimum: 0 },
            onDemandPercentageAboveBase: { type: "integer", minimum: 0, maximum: 100 },
          },
          required: ["onDemandBase", "onDemandPercentageAboveBase"],
        },
      },
    },
  },
  check(r, cfg) {
    const tags = tagsOf(r.props);
    const tier = tags[cfg.tierTag] ?? cfg.defaultTier;
    const which = tags[cfg.tierTag] !== undefined ? `tier "${tier}"` : `untagged pool (no ${cfg.tierTag} tag, default tier "${tier}")`;
    const req = cfg.tiers[tier];
    let base: number | undefined;
    let pct: number | undefined;
    if (r.type === T.awsAsg) {
      const mip = r.props.mixedInstancesPolicy;
      if (!isObj(mip)) return []; // a single launch template without spot options is all on-demand
      const dist = isObj(mip.instancesDistribution) ? mip.instancesDistribution : {};
      // AWS defaults: base 0, 100% on-demand above base
      base = num(dist.onDemandBaseCapacity) ?? 0;
      pct = num(dist.onDemandPercentageAboveBaseCapacity) ?? 100;
    } else {
      if (String(get(r.props, "virtualMachineProfile.priority") ?? "Regular") !== "Spot") return [];
      const mix = r.props.priorityMixPolicy;
      base = isObj(mix) ? (num(mix.baseRegularPriorityCount) ?? 0) : 0;
      pct = isObj(mix) ? (num(mix.regularPriorityPercentageAboveBase) ?? 50) : 0;
    }
    if (!req)
      return [`${label(r)}: tier "${tier}" has no on-demand requirement in the policy's tier table (${Object.keys(cfg.tiers).join(", ")})`];
    if (pct >= 100) return []; // no spot at all
    const out: string[] = [];
    if (base < req.onDemandBase)
      out.push(`${label(r)}: tier "${tier}" needs an on-demand base of ${req.onDemandBase}, the pool has ${base}`);
    if (pct < req.onDemandPercentageAboveBase)
      out.push(`${label(r)}: ${which} needs ${req.onDemandPercentageAboveBase}% on-demand above the base, the pool has ${pct}%`);
    return out;
  },
});

export const computeRules = [
  imdsv2Required,
  diskEncryption,
  noSecretsInUserData,
  gcpShieldedVm,
  gcpInstanceMetadataHardened,
  azureSshKeysOnly,
  spotOnDemandBase,
];
