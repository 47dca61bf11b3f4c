import * as s from "../../rules/storage.js";
import { S } from "../../rules/storage.js";
import { res, type Cases } from "../helpers.js";

const kmsSse = {
  rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:k" }, bucketKeyEnabled: true }],
};
const pabAll = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
const gcsGood = {
  location: "EU",
  encryption: { defaultKmsKeyName: "projects/p/k" },
  versioning: { enabled: true },
  publicAccessPrevention: "enforced",
  uniformBucketLevelAccess: true,
};
const saGood = {
  kind: "StorageV2",
  sku: { name: "Standard_ZRS" },
  encryption: { keySource: "Microsoft.Keyvault", keyVaultProperties: { keyName: "k", keyVaultUri: "https://kv.vault.azure.net" } },
  allowBlobPublicAccess: false,
  enableHttpsTrafficOnly: true,
  minimumTlsVersion: "TLS1_2",
  allowSharedKeyAccess: false,
};

/** An S3 bucket and (optionally) its companions, as recorded (bucket ids are "<name>-id"). */
function awsBucket(name: string, parts: { sse?: boolean; pab?: boolean; versioning?: boolean } = {}) {
  const { sse = true, pab = true, versioning = true } = parts;
  return [
    res(S.awsBucket, { forceDestroy: false }, name),
    ...(sse ? [res(S.awsSse, { bucket: `${name}-id`, ...kmsSse }, `${name}-sse`)] : []),
    ...(pab ? [res(S.awsPab, { bucket: `${name}-id`, ...pabAll }, `${name}-pab`)] : []),
    ...(versioning
      ? [res(S.awsVersioning, { bucket: `${name}-id`, versioningConfiguration: { status: "Enabled" } }, `${name}-versioning`)]
      : []),
  ];
}

export const storageCases: Cases[] = [
  {
    rule: s.bucketEncryption,
    pass: [
      res(S.awsSse, { bucket: "b-id", ...kmsSse }),
      res(S.awsSseV2, { bucket: "b-id", ...kmsSse }),
      res(S.awsBucket, {}),
      res(S.awsBucket, {
        serverSideEncryptionConfiguration: {
          rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms:dsse", kmsMasterKeyId: "k" } },
        },
      }),
      res(S.gcpBucket, gcsGood),
      res(S.azStorageAccount, saGood),
      // S3 cannot deliver server access logs to an SSE-KMS bucket: the log bucket keeps SSE-S3
      res(
        S.awsSse,
        { bucket: "acme-buckets-logs-id", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
        "acme-buckets-logs",
      ),
      res(S.gcpBucket, { ...gcsGood, encryption: undefined, name: "acme-media-access-logs" }, "acme-buckets-logs"),
    ],
    fail: [
      [
        res(S.awsSse, { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }),
        /AES256, not a customer-managed/,
      ],
      [
        res(S.awsSse, { bucket: "acme-buckets-logs-id", rules: [{ applyServerSideEncryptionByDefault: {} }] }, "acme-buckets-logs"),
        /no sseAlgorithm/,
      ],
      [
        res(
          S.awsSse,
          { bucket: "media-catalog-id", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
          "media-catalog",
        ),
        /AES256/,
      ],
      [
        res(S.awsSse, { bucket: "b", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] }),
        /without kmsMasterKeyId/,
      ],
      [res(S.awsSse, { bucket: "b", rules: [] }), /no encryption rule/],
      [res(S.gcpBucket, { ...gcsGood, encryption: undefined }), /defaultKmsKeyName/],
      [res(S.azStorageAccount, { ...saGood, encryption: { keySource: "Microsoft.Storage" } }), /Microsoft\.Storage/],
    ],
  },
  {
    rule: s.bucketVersioning,
    pass: [
      res(S.awsVersioning, { bucket: "in-id", versioningConfiguration: { status: "Enabled" } }, "media-input-versioning"),
      res(S.awsVersioning, { bucket: "x", versioningConfiguration: { status: "Suspended" } }, "media-intermediate-versioning"),
      res(S.gcpBucket, gcsGood, "media-output"),
      res(S.gcpBucket, { ...gcsGood, versioning: undefined }, "media-intermediate"),
      res(S.azBlobService, { accountName: "ffmedia", isVersioningEnabled: true }),
      res(S.awsBucket, {}, "media-input"),
    ],
    fail: [
      [
        res(S.awsVersioning, { bucket: "in-id", versioningConfiguration: { status: "Suspended" } }, "media-input-versioning"),
        /"Suspended"/,
      ],
      [res(S.gcpBucket, { ...gcsGood, versioning: { enabled: false } }, "media-output"), /versioning is not enabled/],
      [res(S.azBlobService, { accountName: "ffmedia" }), /isVersioningEnabled/],
      [res(S.awsBucket, { versioning: { enabled: false } }, "media-output"), /inline versioning/],
    ],
  },
  {
    rule: s.bucketPublicAccessBlocked,
    pass: [res(S.awsPab, { bucket: "b", ...pabAll }), res(S.awsBucket, {}), res(S.gcpBucket, gcsGood), res(S.azStorageAccount, saGood)],
    fail: [
      [
        res(S.awsPab, { bucket: "b", ...pabAll, restrictPublicBuckets: false, ignorePublicAcls: undefined }),
        /ignorePublicAcls, restrictPublicBuckets not true/,
      ],
      [res(S.awsBucket, { acl: "public-read" }), /public-read/],
      [res(S.gcpBucket, { ...gcsGood, publicAccessPrevention: "inherited" }), /publicAccessPrevention/],
      [res(S.gcpBucket, { ...gcsGood, uniformBucketLevelAccess: false }), /uniformBucketLevelAccess/],
      [res(S.azStorageAccount, { ...saGood, allowBlobPublicAccess: true }), /allowBlobPublicAccess/],
    ],
  },
  {
    rule: s.storageSecureTransport,
    pass: [
      res(S.azStorageAccount, saGood),
      res(S.azStorageAccount, { ...saGood, minimumTlsVersion: "TLS1_3", enableHttpsTrafficOnly: undefined }),
    ],
    fail: [
      [res(S.azStorageAccount, { ...saGood, enableHttpsTrafficOnly: false }), /enableHttpsTrafficOnly/],
      [res(S.azStorageAccount, { ...saGood, minimumTlsVersion: "TLS1_0" }), /TLS1_0/],
      [res(S.azStorageAccount, { ...saGood, allowSharedKeyAccess: undefined }), /allowSharedKeyAccess/],
    ],
  },
  {
    rule: s.registryImmutableTags,
    pass: [
      res(S.ecrRepo, { imageTagMutability: "IMMUTABLE" }),
      res(S.ecrTemplate, { prefix: "docker-hub", appliedFors: ["PULL_THROUGH_CACHE"], imageTagMutability: "IMMUTABLE_WITH_EXCLUSION" }),
      res(S.garRepo, { format: "DOCKER", repositoryId: "images", dockerConfig: { immutableTags: true } }),
      res(S.garRepo, { format: "DOCKER", mode: "REMOTE_REPOSITORY", repositoryId: "mirror" }),
      res(S.garRepo, { format: "PYTHON", repositoryId: "py" }),
    ],
    fail: [
      [res(S.ecrRepo, {}), /MUTABLE/],
      [res(S.ecrTemplate, { prefix: "ROOT", imageTagMutability: "MUTABLE" }), /MUTABLE/],
      [res(S.garRepo, { format: "DOCKER", repositoryId: "images" }), /immutableTags/],
    ],
  },
  {
    rule: s.registryScanning,
    pass: [
      res(S.ecrRepo, { imageScanningConfiguration: { scanOnPush: true } }),
      res(S.ecrScanning, {
        scanType: "ENHANCED",
        rules: [{ scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] }],
      }),
      res(S.ecrScanning, {
        scanType: "BASIC",
        rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] }],
      }),
      res(S.garRepo, { format: "DOCKER", mode: "REMOTE_REPOSITORY" }),
    ],
    fail: [
      [res(S.ecrRepo, { imageScanningConfiguration: { scanOnPush: false } }), /scanOnPush/],
      [
        res(S.ecrScanning, {
          scanType: "BASIC",
          rules: [{ scanFrequency: "MANUAL", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] }],
        }),
        /BASIC scanning/,
      ],
      [
        res(S.ecrScanning, {
          scanType: "BASIC",
          rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "prod/*", filterType: "WILDCARD" }] }],
        }),
        /every repository/,
      ],
      [res(S.garRepo, { format: "DOCKER", vulnerabilityScanningConfig: { enablementConfig: "DISABLED" } }), /DISABLED/],
    ],
  },
  {
    rule: s.registryPrivateAccess,
    pass: [
      res(S.acr, { sku: { name: "Premium" }, adminUserEnabled: false, anonymousPullEnabled: false }),
      res(S.ecrTemplate, {
        prefix: "p",
        repositoryPolicy: JSON.stringify({
          Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::1:root" }, Action: "ecr:BatchGetImage" }],
        }),
      }),
    ],
    fail: [
      [res(S.acr, { adminUserEnabled: true }), /adminUserEnabled/],
      [res(S.acr, { anonymousPullEnabled: true }), /anonymousPullEnabled/],
      [
        res(S.ecrTemplate, {
          prefix: "p",
          repositoryPolicy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: "*", Action: "ecr:*" }] }),
        }),
        /Principal "\*"/,
      ],
    ],
  },
  {
    rule: s.databasePrivate,
    pass: [
      res(S.rds, { publiclyAccessible: false }),
      res(S.cloudSql, { settings: { tier: "db-custom-2-7680", ipConfiguration: { ipv4Enabled: false, privateNetwork: "n" } } }),
      res(S.azPostgres, { network: { delegatedSubnetResourceId: "/subs/x/subnets/db", privateDnsZoneResourceId: "z" } }),
      res(S.azPostgres, { network: { publicNetworkAccess: "Disabled" } }),
    ],
    fail: [
      [res(S.rds, { publiclyAccessible: true }), /publiclyAccessible/],
      [res(S.cloudSql, { settings: { tier: "t" } }), /ipv4Enabled/],
      [
        res(S.cloudSql, { settings: { ipConfiguration: { ipv4Enabled: false, authorizedNetworks: [{ value: "0.0.0.0/0" }] } } }),
        /authorizedNetworks/,
      ],
      [res(S.azPostgres, { network: { publicNetworkAccess: "Enabled" } }), /Enabled/],
      [res(S.azPostgres, {}), /delegated subnet/],
    ],
  },
  {
    rule: s.databaseEncryptedBackedUp,
    pass: [
      res(S.rds, { storageEncrypted: true, backupRetentionPeriod: 14 }),
      res(S.rdsCluster, { storageEncrypted: true, backupRetentionPeriod: 7 }),
      res(S.cloudSql, { settings: { backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true } } }),
      res(S.azPostgres, {}),
      res(S.azPostgres, { backup: { backupRetentionDays: 35 } }),
    ],
    fail: [
      [res(S.rds, { backupRetentionPeriod: 7 }), /storageEncrypted/],
      [res(S.rds, { storageEncrypted: true }), /backupRetentionPeriod is 0/],
      [res(S.cloudSql, { settings: {} }), /backupConfiguration/],
      [res(S.azPostgres, { backup: { backupRetentionDays: 3 } }), /3, fewer than 7/],
    ],
  },
  {
    rule: s.awsBucketControlsPresent,
    pass: [[], awsBucket("media-input"), [...awsBucket("media-intermediate", { versioning: false })]],
    fail: [
      [awsBucket("media-input", { sse: false }), /no server-side encryption/],
      [awsBucket("media-output", { pab: false }), /no public access block/],
      [awsBucket("media-output", { versioning: false }), /no versioning/],
      [
        [...awsBucket("media-input"), ...awsBucket("media-output", { sse: false, pab: false }).slice(0, 1)],
        /"media-output": no server-side encryption configuration, public access block, versioning/,
      ],
    ],
  },
  {
    rule: s.ecrScanningConfigured,
    pass: [
      [],
      [
        res(S.ecrPullThrough, { ecrRepositoryPrefix: "docker-hub", upstreamRegistryUrl: "registry-1.docker.io" }, "mirror"),
        res(S.ecrScanning, { scanType: "ENHANCED" }, "scan"),
      ],
    ],
    fail: [[[res(S.ecrPullThrough, { ecrRepositoryPrefix: "docker-hub" }, "mirror")], /no RegistryScanningConfiguration/]],
  },
];

export { awsBucket };
