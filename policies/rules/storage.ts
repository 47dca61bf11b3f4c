// Storage rules: media buckets, container registries and the manager's
// database. Everything encrypted with the customer's key, versioned where the
// data matters, never public; registries immutable and scanned.
import { resourceRule, stackRule, type ResourceView } from "./types.js";
import { RefIndex, get, isFalse, isObj, isTrue, isWorldCidr, label, num, objs, strs, type Obj } from "./util.js";

export const S = {
  awsBucket: "aws:s3/bucket:Bucket",
  awsBucketV2: "aws:s3/bucketV2:BucketV2",
  awsSse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  awsSseV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  awsVersioning: "aws:s3/bucketVersioning:BucketVersioning",
  awsVersioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
  awsPab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  gcpBucket: "gcp:storage/bucket:Bucket",
  azStorageAccount: "azure-native:storage:StorageAccount",
  azBlobService: "azure-native:storage:BlobServiceProperties",
  ecrRepo: "aws:ecr/repository:Repository",
  ecrTemplate: "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
  ecrPullThrough: "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
  ecrScanning: "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",
  garRepo: "gcp:artifactregistry/repository:Repository",
  acr: "azure-native:containerregistry:Registry",
  rds: "aws:rds/instance:Instance",
  rdsCluster: "aws:rds/cluster:Cluster",
  cloudSql: "gcp:sql/databaseInstance:DatabaseInstance",
  azPostgres: "azure-native:dbforpostgresql:Server",
} as const;

const AWS_BUCKETS = [S.awsBucket, S.awsBucketV2] as string[];

/** Does the resource (or the bucket it configures) have a name matching one of the patterns? */
function exempt(r: ResourceView, patterns: string[], extra: unknown[] = []): boolean {
  const names = [r.name, r.props.bucket, r.props.name, r.props.accountName, ...extra].filter((x): x is string => typeof x === "string");
  return patterns.some((pat) => names.some((n) => new RegExp(pat, "i").test(n)));
}

interface CmkCfg extends Record<string, unknown> {
  /** require a customer-managed key (KMS / Cloud KMS / Key Vault); false accepts the provider-managed default */
  requireCustomerManagedKey: boolean;
  /** regular expressions; buckets whose name matches (access-log buckets: S3 cannot deliver server access logs to an SSE-KMS bucket) need encryption but not a customer key */
  cmkExemptPatterns: string[];
}
const CMK_DEFAULTS: CmkCfg = { requireCustomerManagedKey: true, cmkExemptPatterns: ["(^|[-_.])(access-?)?logs?([-_.]|$)"] };

function awsSseRules(r: ResourceView): Obj[] {
  if (AWS_BUCKETS.includes(r.type)) return objs(get(r.props, "serverSideEncryptionConfiguration.rule"));
  return objs(r.props.rules);
}

export const bucketEncryption = resourceRule<CmkCfg>({
  name: "bucket-encryption",
  description:
    "Object storage is encrypted at rest with the customer's key: S3 SSE-KMS, Cloud Storage default KMS key, Storage Account encryption with a Key Vault key.",
  remediation:
    'AWS: BucketServerSideEncryptionConfiguration rules[].applyServerSideEncryptionByDefault = { sseAlgorithm: "aws:kms", kmsMasterKeyId }. GCP: encryption.defaultKmsKeyName. Azure: encryption: { keySource: "Microsoft.Keyvault", keyVaultProperties }.',
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "storage",
  clouds: ["aws", "gcp", "azure"],
  types: [S.awsSse, S.awsSseV2, S.awsBucket, S.awsBucketV2, S.gcpBucket, S.azStorageAccount],
  defaults: CMK_DEFAULTS,
  configSchema: {
    properties: {
      requireCustomerManagedKey: { type: "boolean", default: true },
      cmkExemptPatterns: { type: "array", items: { type: "string" }, default: CMK_DEFAULTS.cmkExemptPatterns },
    },
  },
  check(r, cfg) {
    const p = r.props;
    const needCmk = cfg.requireCustomerManagedKey && !exempt(r, cfg.cmkExemptPatterns);
    if (r.type === S.gcpBucket) {
      if (!needCmk) return [];
      return get(p, "encryption.defaultKmsKeyName") ? [] : [`${label(r)}: no encryption.defaultKmsKeyName (Google-managed key only)`];
    }
    if (r.type === S.azStorageAccount) {
      const src = String(get(p, "encryption.keySource") ?? "Microsoft.Storage");
      if (!needCmk) return [];
      return src.toLowerCase() === "microsoft.keyvault" && get(p, "encryption.keyVaultProperties") !== undefined
        ? []
        : [`${label(r)}: encryption.keySource is ${src}, not a Key Vault key`];
    }
    const rules = awsSseRules(r);
    // an inline-less Bucket is judged by aws-bucket-controls-present (its companion resources)
    if (AWS_BUCKETS.includes(r.type) && rules.length === 0) return [];
    const out: string[] = [];
    if (rules.length === 0) out.push(`${label(r)}: no encryption rule`);
    for (const rule of rules) {
      const d = isObj(rule.applyServerSideEncryptionByDefault) ? rule.applyServerSideEncryptionByDefault : {};
      const alg = String(d.sseAlgorithm ?? "");
      if (!alg) out.push(`${label(r)}: rule has no sseAlgorithm`);
      else if (needCmk && !(alg.startsWith("aws:kms") && d.kmsMasterKeyId))
        out.push(
          `${label(r)}: sseAlgorithm ${alg}${alg.startsWith("aws:kms") ? " without kmsMasterKeyId (AWS-managed key)" : ""}, not a customer-managed KMS key`,
        );
    }
    return out;
  },
});

interface VersionCfg extends Record<string, unknown> {
  /** regular expressions; buckets whose name matches hold disposable data and need no versioning */
  exemptPatterns: string[];
}
const VERSION_DEFAULTS: VersionCfg = { exemptPatterns: ["intermediate", "scratch", "access-?logs?"] };

export const bucketVersioning = resourceRule<VersionCfg>({
  name: "bucket-versioning",
  description:
    "Input and output buckets keep object versions, so an overwrite or delete (or ransomware) can be undone. Disposable buckets (intermediate, scratch, access logs) are exempt by name.",
  remediation:
    'AWS: BucketVersioning { versioningConfiguration: { status: "Enabled" } }. GCP: versioning: { enabled: true }. Azure: BlobServiceProperties isVersioningEnabled: true.',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "storage",
  clouds: ["aws", "gcp", "azure"],
  types: [S.awsVersioning, S.awsVersioningV2, S.awsBucket, S.awsBucketV2, S.gcpBucket, S.azBlobService],
  defaults: VERSION_DEFAULTS,
  configSchema: { properties: { exemptPatterns: { type: "array", items: { type: "string" }, default: VERSION_DEFAULTS.exemptPatterns } } },
  check(r, cfg) {
    if (exempt(r, cfg.exemptPatterns)) return [];
    const p = r.props;
    switch (r.type) {
      case S.awsBucket:
      case S.awsBucketV2:
        // only judged when versioning is configured inline; otherwise aws-bucket-controls-present looks for the companion
        return isObj(p.versioning) && !isTrue(get(p, "versioning.enabled")) ? [`${label(r)}: inline versioning is not enabled`] : [];
      case S.gcpBucket:
        return isTrue(get(p, "versioning.enabled")) ? [] : [`${label(r)}: versioning is not enabled`];
      case S.azBlobService:
        return isTrue(p.isVersioningEnabled) ? [] : [`${label(r)}: isVersioningEnabled is not true`];
      default: {
        const status = get(p, "versioningConfiguration.status");
        return status === "Enabled" ? [] : [`${label(r)}: versioning status is ${JSON.stringify(status ?? null)}`];
      }
    }
  },
});

export const bucketPublicAccessBlocked = resourceRule({
  name: "bucket-public-access-blocked",
  description:
    "No bucket can be made public: S3 Block Public Access (all four settings), GCS public access prevention with uniform bucket-level access, Storage Accounts with blob public access off.",
  remediation:
    'AWS: BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true. GCP: publicAccessPrevention: "enforced", uniformBucketLevelAccess: true. Azure: allowBlobPublicAccess: false.',
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "storage",
  clouds: ["aws", "gcp", "azure"],
  types: [S.awsPab, S.awsBucket, S.awsBucketV2, S.gcpBucket, S.azStorageAccount],
  defaults: {},
  check(r) {
    const p = r.props;
    switch (r.type) {
      case S.awsPab: {
        const off = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter((k) => !isTrue(p[k]));
        return off.length ? [`${label(r)}: ${off.join(", ")} not true`] : [];
      }
      case S.awsBucket:
      case S.awsBucketV2:
        return typeof p.acl === "string" && /^public-/.test(p.acl) ? [`${label(r)}: acl is ${p.acl}`] : [];
      case S.gcpBucket: {
        const out: string[] = [];
        if (p.publicAccessPrevention !== "enforced") out.push(`${label(r)}: publicAccessPrevention is not "enforced"`);
        if (!isTrue(p.uniformBucketLevelAccess))
          out.push(`${label(r)}: uniformBucketLevelAccess is not true (object ACLs can make objects public)`);
        return out;
      }
      default:
        return isFalse(p.allowBlobPublicAccess) ? [] : [`${label(r)}: allowBlobPublicAccess is not false`];
    }
  },
});

export const storageSecureTransport = resourceRule({
  name: "storage-secure-transport",
  description: "Azure Storage Accounts accept HTTPS only, with TLS 1.2 or newer, and no shared-key (account key) authorisation.",
  remediation:
    'enableHttpsTrafficOnly: true, minimumTlsVersion: "TLS1_2", allowSharedKeyAccess: false (hosts use their managed identity and user-delegation SAS).',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "storage",
  clouds: ["azure"],
  types: [S.azStorageAccount],
  defaults: {},
  check(r) {
    const p = r.props;
    const out: string[] = [];
    if (isFalse(p.enableHttpsTrafficOnly)) out.push(`${label(r)}: enableHttpsTrafficOnly is false`);
    if (!["TLS1_2", "TLS1_3"].includes(String(p.minimumTlsVersion)))
      out.push(`${label(r)}: minimumTlsVersion is ${JSON.stringify(p.minimumTlsVersion ?? null)}, not TLS1_2 or newer`);
    if (!isFalse(p.allowSharedKeyAccess)) out.push(`${label(r)}: allowSharedKeyAccess is not false (account keys grant full access)`);
    return out;
  },
});

export const registryImmutableTags = resourceRule({
  name: "registry-immutable-tags",
  description:
    "Registry tags cannot be overwritten, so an image a job pinned by tag cannot be swapped underneath it (ECR repositories and pull-through templates, Artifact Registry standard repositories).",
  remediation:
    'ECR: imageTagMutability: "IMMUTABLE" (or IMMUTABLE_WITH_EXCLUSION) on the repository and the repository creation template. Artifact Registry: dockerConfig: { immutableTags: true }.',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "storage",
  clouds: ["aws", "gcp"],
  types: [S.ecrRepo, S.ecrTemplate, S.garRepo],
  defaults: {},
  check(r) {
    const p = r.props;
    if (r.type === S.garRepo) {
      if (String(p.format ?? "").toUpperCase() !== "DOCKER") return [];
      if (String(p.mode ?? "STANDARD_REPOSITORY") !== "STANDARD_REPOSITORY") return []; // remote / virtual repositories have no tag mutability
      return isTrue(get(p, "dockerConfig.immutableTags")) ? [] : [`${label(r)}: dockerConfig.immutableTags is not true`];
    }
    const m = String(p.imageTagMutability ?? "MUTABLE");
    return m.startsWith("IMMUTABLE") ? [] : [`${label(r)}: imageTagMutability is ${m}`];
  },
});

export const registryScanning = resourceRule({
  name: "registry-scanning",
  description:
    "Images are scanned for vulnerabilities: on push for ECR repositories, by a registry-wide ECR scanning configuration, and by Artifact Analysis for Artifact Registry.",
  remediation:
    'ECR: imageScanningConfiguration: { scanOnPush: true }, and RegistryScanningConfiguration { scanType: "ENHANCED" } or BASIC with a SCAN_ON_PUSH rule for "*". Artifact Registry: leave vulnerabilityScanningConfig.enablementConfig unset or INHERITED (enable containerscanning.googleapis.com).',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "storage",
  clouds: ["aws", "gcp"],
  types: [S.ecrRepo, S.ecrScanning, S.garRepo],
  defaults: {},
  check(r) {
    const p = r.props;
    if (r.type === S.ecrRepo)
      return isTrue(get(p, "imageScanningConfiguration.scanOnPush")) ? [] : [`${label(r)}: scanOnPush is not enabled`];
    if (r.type === S.garRepo)
      return get(p, "vulnerabilityScanningConfig.enablementConfig") === "DISABLED"
        ? [`${label(r)}: vulnerability scanning is DISABLED`]
        : [];
    if (p.scanType === "ENHANCED") return [];
    const all = objs(p.rules).some(
      (rule) =>
        ["SCAN_ON_PUSH", "CONTINUOUS_SCAN"].includes(String(rule.scanFrequency)) &&
        objs(rule.repositoryFilters).some((f) => f.filter === "*" && String(f.filterType ?? "WILDCARD") === "WILDCARD"),
    );
    return all ? [] : [`${label(r)}: BASIC scanning without a SCAN_ON_PUSH rule that matches every repository ("*")`];
  },
});

function policyHasPublicPrincipal(doc: unknown): boolean {
  let d: unknown = doc;
  if (typeof d === "string") {
    try {
      d = JSON.parse(d);
    } catch {
      return false;
    }
  }
  return objs(get(d, "Statement") ?? []).some(
    (s) => s.Effect === "Allow" && (s.Principal === "*" || get(s, "Principal.AWS") === "*" || strs(get(s, "Principal.AWS")).includes("*")),
  );
}

export const registryPrivateAccess = resourceRule({
  name: "registry-private-access",
  description:
    'Registries are reachable only with an identity: no ACR admin user or anonymous pull, no ECR repository policy open to Principal "*".',
  remediation:
    "ACR: adminUserEnabled: false, anonymousPullEnabled: false (hosts pull with their managed identity). ECR: name principals explicitly in repositoryPolicy.",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "storage",
  clouds: ["aws", "azure"],
  types: [S.acr, S.ecrTemplate],
  defaults: {},
  check(r) {
    const p = r.props;
    if (r.type === S.acr) {
      const out: string[] = [];
      if (isTrue(p.adminUserEnabled)) out.push(`${label(r)}: adminUserEnabled gives a shared username/password`);
      if (isTrue(p.anonymousPullEnabled)) out.push(`${label(r)}: anonymousPullEnabled lets anyone pull`);
      return out;
    }
    return policyHasPublicPrincipal(p.repositoryPolicy) ? [`${label(r)}: repositoryPolicy allows Principal "*"`] : [];
  },
});

export const databasePrivate = resourceRule({
  name: "database-private",
  description:
    "The manager's PostgreSQL has no public endpoint: RDS not publicly accessible, Cloud SQL without a public IPv4 address, Azure flexible server in a delegated subnet with public access disabled.",
  remediation:
    'RDS: publiclyAccessible: false. Cloud SQL: settings.ipConfiguration { ipv4Enabled: false, privateNetwork }. Azure: network { delegatedSubnetResourceId, privateDnsZoneResourceId, publicNetworkAccess: "Disabled" }.',
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "storage",
  clouds: ["aws", "gcp", "azure"],
  types: [S.rds, S.cloudSql, S.azPostgres],
  defaults: {},
  check(r) {
    const p = r.props;
    if (r.type === S.rds) return isTrue(p.publiclyAccessible) ? [`${label(r)}: publiclyAccessible is true`] : [];
    if (r.type === S.cloudSql) {
      const ip = get(p, "settings.ipConfiguration");
      const out: string[] = [];
      if (!isObj(ip) || !isFalse(ip.ipv4Enabled)) out.push(`${label(r)}: settings.ipConfiguration.ipv4Enabled is not false (public IP)`);
      if (isObj(ip) && objs(ip.authorizedNetworks).some((n) => isWorldCidr(n.value)))
        out.push(`${label(r)}: authorizedNetworks includes 0.0.0.0/0`);
      return out;
    }
    const net = isObj(p.network) ? p.network : {};
    if (net.publicNetworkAccess === "Enabled") return [`${label(r)}: network.publicNetworkAccess is Enabled`];
    if (!net.delegatedSubnetResourceId && net.publicNetworkAccess !== "Disabled")
      return [`${label(r)}: not in a delegated subnet and publicNetworkAccess is not Disabled`];
    return [];
  },
});

interface DbCfg extends Record<string, unknown> {
  minBackupRetentionDays: number;
}

export const databaseEncryptedBackedUp = resourceRule<DbCfg>({
  name: "database-encrypted-backed-up",
  description:
    "The manager's PostgreSQL (jobs, audit trail) is encrypted at rest and keeps automated backups for at least minBackupRetentionDays.",
  remediation:
    "RDS: storageEncrypted: true, backupRetentionPeriod >= 7. Cloud SQL: settings.backupConfiguration.enabled: true (with point-in-time recovery). Azure: backup.backupRetentionDays >= 7.",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "storage",
  clouds: ["aws", "gcp", "azure"],
  types: [S.rds, S.rdsCluster, S.cloudSql, S.azPostgres],
  defaults: { minBackupRetentionDays: 7 },
  configSchema: { properties: { minBackupRetentionDays: { type: "integer", minimum: 1, default: 7 } } },
  check(r, cfg) {
    const p = r.props;
    const out: string[] = [];
    if (r.type === S.rds || r.type === S.rdsCluster) {
      if (!isTrue(p.storageEncrypted)) out.push(`${label(r)}: storageEncrypted is not true`);
      const days = num(p.backupRetentionPeriod) ?? (r.type === S.rdsCluster ? 1 : 0);
      if (days < cfg.minBackupRetentionDays)
        out.push(`${label(r)}: backupRetentionPeriod is ${days} day(s), fewer than ${cfg.minBackupRetentionDays}`);
    } else if (r.type === S.cloudSql) {
      if (!isTrue(get(p, "settings.backupConfiguration.enabled")))
        out.push(`${label(r)}: settings.backupConfiguration.enabled is not true`);
    } else {
      const days = num(get(p, "backup.backupRetentionDays")) ?? 7;
      if (days < cfg.minBackupRetentionDays)
        out.push(`${label(r)}: backup.backupRetentionDays is ${days}, fewer than ${cfg.minBackupRetentionDays}`);
    }
    return out;
  },
});

// ---------------------------------------------------------------- stack rules

export const awsBucketControlsPresent = stackRule<VersionCfg>({
  name: "aws-bucket-controls-present",
  description:
    "AWS provider v7 splits a bucket's settings into companion resources; every S3 bucket in the stack has its server-side encryption configuration and public access block, and (unless exempt) its versioning.",
  remediation:
    "For each aws.s3.Bucket declare BucketServerSideEncryptionConfiguration, BucketPublicAccessBlock and BucketVersioning with bucket = the bucket's id.",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "storage",
  clouds: ["aws"],
  defaults: VERSION_DEFAULTS,
  configSchema: { properties: { exemptPatterns: { type: "array", items: { type: "string" }, default: VERSION_DEFAULTS.exemptPatterns } } },
  checkStack(rs, cfg) {
    const idx = new RefIndex(rs);
    const companions = (types: string[]) => idx.ofType(...types).map((c) => idx.resolve(c.props.bucket, AWS_BUCKETS)?.urn);
    const sse = new Set(companions([S.awsSse, S.awsSseV2]));
    const pab = new Set(companions([S.awsPab]));
    const ver = new Set(companions([S.awsVersioning, S.awsVersioningV2]));
    const out: { urn: string; message: string }[] = [];
    for (const b of idx.ofType(...AWS_BUCKETS)) {
      const missing: string[] = [];
      if (!sse.has(b.urn) && !isObj(b.props.serverSideEncryptionConfiguration)) missing.push("server-side encryption configuration");
      if (!pab.has(b.urn)) missing.push("public access block");
      if (!ver.has(b.urn) && !isObj(b.props.versioning) && !exempt(b, cfg.exemptPatterns)) missing.push("versioning");
      if (missing.length) out.push({ urn: b.urn, message: `${label(b)}: no ${missing.join(", ")}` });
    }
    return out;
  },
});

export const ecrScanningConfigured = stackRule({
  name: "ecr-scanning-configured",
  description:
    "A stack that mirrors images into ECR (pull-through cache rules, creation templates) declares the registry's scanning configuration, since pull-through repositories are created by ECR and inherit it.",
  remediation: 'Declare aws.ecr.RegistryScanningConfiguration (scanType ENHANCED, or BASIC with a SCAN_ON_PUSH rule for "*").',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "storage",
  clouds: ["aws"],
  defaults: {},
  checkStack(rs) {
    const mirrors = rs.filter((r) => r.type === S.ecrPullThrough || r.type === S.ecrTemplate);
    if (mirrors.length === 0 || rs.some((r) => r.type === S.ecrScanning)) return [];
    return mirrors.map((m) => ({ urn: m.urn, message: `${label(m)}: the stack declares no RegistryScanningConfiguration` }));
  },
});

export const storageRules = [
  bucketEncryption,
  bucketVersioning,
  bucketPublicAccessBlocked,
  storageSecureTransport,
  registryImmutableTags,
  registryScanning,
  registryPrivateAccess,
  databasePrivate,
  databaseEncryptedBackedUp,
  awsBucketControlsPresent,
  ecrScanningConfigured,
];
