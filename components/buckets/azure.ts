// MediaBuckets on Azure: one StorageV2 account per bucket role (versioning is an
// account-level setting), customer-managed key from Key Vault through a
// user-assigned identity, infrastructure encryption, no public blob access, no
// shared keys, network access only from the region's subnets, lifecycle from
// BUCKET_POLICIES, and blob read/write/delete logs to Log Analytics.
import * as pulumi from "@pulumi/pulumi";
import * as storage from "@pulumi/azure-native/storage/index.js";
import type * as azureTypes from "@pulumi/azure-native/types/index.js";
import * as keyvault from "@pulumi/azure-native/keyvault/index.js";
import { protectedKeyVault } from "../azure-keyvault.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as monitor from "@pulumi/azure-native/monitor/index.js";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights/index.js";
import * as eventgrid from "@pulumi/azure-native/eventgrid/index.js";
import { BUCKET_POLICIES, BUCKET_ROLES, type BucketRole, type MediaBucketRefs, type MediaBucketsArgs } from "./index.js";

const ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6";

export function azureLifecycleRule(role: BucketRole): azureTypes.input.storage.ManagementPolicyRuleArgs {
  const p = BUCKET_POLICIES[role];
  return {
    name: `framefleet-${role}`,
    type: "Lifecycle",
    enabled: true,
    definition: {
      filters: { blobTypes: ["blockBlob"] },
      actions: {
        baseBlob: {
          ...(p.expireDays ? { delete: { daysAfterCreationGreaterThan: p.expireDays } } : {}),
          ...(p.coolAfterDays ? { tierToCool: { daysAfterCreationGreaterThan: p.coolAfterDays } } : {}),
        },
        ...(p.noncurrentExpireDays ? { version: { delete: { daysAfterCreationGreaterThan: p.noncurrentExpireDays } } } : {}),
      },
    },
  };
}

export function createAzureBuckets(parent: pulumi.Resource, name: string, a: MediaBucketsArgs): MediaBucketRefs {
  const opts = { parent };
  const az = a.azure!;
  const resourceGroupName = az.resourceGroupName;
  const location = a.region;
  const tags = a.tags ?? {};
  const client = authorization.getClientConfigOutput({ parent });
  const tenantId = az.tenantId ? pulumi.output(az.tenantId) : client.tenantId;

  const identity = new managedidentity.UserAssignedIdentity(`${name}-cmk`, { resourceGroupName, location, tags }, opts);
  const vault = protectedKeyVault(
    `${name}-cmk`,
    { resourceGroupName, location, vaultName: `${a.namePrefix.replace(/[^a-zA-Z0-9]/g, "").slice(0, 20)}kv`, tenantId, tags },
    opts,
  );
  const key = new keyvault.Key(
    `${name}-cmk`,
    {
      resourceGroupName,
      vaultName: vault.name,
      keyName: "media",
      properties: {
        kty: "RSA",
        keySize: 3072,
        rotationPolicy: { lifetimeActions: [{ action: { type: "rotate" }, trigger: { timeAfterCreate: "P90D" } }] },
      },
    },
    opts,
  );
  const grant = new authorization.RoleAssignment(
    `${name}-cmk`,
    {
      principalId: identity.principalId,
      principalType: "ServicePrincipal",
      roleDefinitionId: pulumi.interpolate`/subscriptions/${client.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER}`,
      scope: vault.id,
    },
    opts,
  );
  const logs = new operationalinsights.Workspace(
    `${name}-storage-logs`,
    { resourceGroupName, location, sku: { name: "PerGB2018" }, retentionInDays: 365, tags },
    opts,
  );

  const buckets = {} as Record<BucketRole, pulumi.Output<string>>;
  let outputAccount!: storage.StorageAccount;
  for (const role of BUCKET_ROLES) {
    const account = new storage.StorageAccount(
      `${name}-${role}`,
      {
        resourceGroupName,
        location,
        accountName: `${a.namePrefix.replace(/[^a-z0-9]/g, "").slice(0, 16)}${role.slice(0, 5)}`,
        kind: "StorageV2",
        sku: { name: "Standard_ZRS" },
        accessTier: "Hot",
        allowBlobPublicAccess: false,
        allowSharedKeyAccess: false,
        minimumTlsVersion: "TLS1_2",
        enableHttpsTrafficOnly: true,
        identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
        encryption: {
          keySource: "Microsoft.Keyvault",
          requireInfrastructureEncryption: true,
          keyVaultProperties: { keyName: key.name, keyVaultUri: vault.properties.apply((p) => p.vaultUri ?? "") },
          encryptionIdentity: { encryptionUserAssignedIdentity: identity.id },
          services: { blob: { enabled: true, keyType: "Account" } },
        },
        networkRuleSet: {
          defaultAction: "Deny",
          bypass: "AzureServices",
          virtualNetworkRules: (az.allowedSubnetIds ?? []).map((id) => ({ virtualNetworkResourceId: id, action: "Allow" })),
        },
        tags: { ...tags, "framefleet-bucket": role },
      },
      { parent, dependsOn: [grant] },
    );
    const p = BUCKET_POLICIES[role];
    new storage.BlobServiceProperties(
      `${name}-${role}`,
      {
        resourceGroupName,
        accountName: account.name,
        blobServicesName: "default",
        isVersioningEnabled: p.versioned,
        deleteRetentionPolicy: { enabled: true, days: 7 },
        containerDeleteRetentionPolicy: { enabled: true, days: 7 },
      },
      opts,
    );
    new storage.ManagementPolicy(
      `${name}-${role}`,
      { resourceGroupName, accountName: account.name, managementPolicyName: "default", policy: { rules: [azureLifecycleRule(role)] } },
      opts,
    );
    const container = new storage.BlobContainer(
      `${name}-${role}`,
      { resourceGroupName, accountName: account.name, containerName: role, publicAccess: "None" },
      opts,
    );
    new monitor.DiagnosticSetting(
      `${name}-${role}-logs`,
      {
        resourceUri: pulumi.interpolate`${account.id}/blobServices/default`,
        workspaceId: logs.id,
        logs: ["StorageRead", "StorageWrite", "StorageDelete"].map((category) => ({ category, enabled: true })),
      },
      opts,
    );
    buckets[role] = container.id;
    if (role === "output") outputAccount = account;
    if (role === "input" && a.inputNotificationUrl) {
      // Event Grid system topic on the account → webhook to the manager (which answers the
      // subscription validation handshake) for blobs created in the input container only
      const topic = new eventgrid.SystemTopic(
        `${name}-input-events`,
        { resourceGroupName, location, source: account.id, topicType: "Microsoft.Storage.StorageAccounts", tags },
        opts,
      );
      new eventgrid.SystemTopicEventSubscription(
        `${name}-input-events`,
        {
          resourceGroupName,
          systemTopicName: topic.name,
          destination: { endpointType: "WebHook", endpointUrl: pulumi.secret(a.inputNotificationUrl) },
          eventDeliverySchema: "EventGridSchema",
          filter: {
            includedEventTypes: ["Microsoft.Storage.BlobCreated"],
            subjectBeginsWith: `/blobServices/default/containers/${role}/blobs/`,
          },
          retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
        },
        opts,
      );
    }
  }
  return { buckets, keyId: key.keyUriWithVersion, cdnOrigin: outputAccount.primaryEndpoints.apply((e) => e?.blob ?? "") };
}
