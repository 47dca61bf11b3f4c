// ManagerCluster on Azure: AKS with private nodes on the NAT-gateway subnet,
// Entra ID RBAC with local accounts disabled, KMS secrets encryption (Key Vault),
// control-plane logs to Log Analytics, an authorized-IP-restricted API server;
// a Static Standard public IP for the manager's Service; PostgreSQL flexible
// server on a delegated subnet with public access disabled.
import * as pulumi from "@pulumi/pulumi";
import * as containerservice from "@pulumi/azure-native/containerservice/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as keyvault from "@pulumi/azure-native/keyvault/index.js";
import { protectedKeyVault } from "../azure-keyvault.js";
import * as network from "@pulumi/azure-native/network/index.js";
import * as monitor from "@pulumi/azure-native/monitor/index.js";
import * as operationalinsights from "@pulumi/azure-native/operationalinsights/index.js";
import * as postgres from "@pulumi/azure-native/dbforpostgresql/index.js";
import * as privatedns from "@pulumi/azure-native/privatedns/index.js";
import { physicalName } from "../common.js";
import { loadBalancerBinding, type ManagerClusterArgs, type ManagerClusterRefs } from "./index.js";

export const AKS_LOG_CATEGORIES = ["kube-apiserver", "kube-audit-admin", "kube-controller-manager", "kube-scheduler", "guard"];
const ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";
const ROLE_KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424";
const ROLE_AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b";

export function createAzureManagerCluster(parent: pulumi.Resource, name: string, a: ManagerClusterArgs): ManagerClusterRefs {
  const opts = { parent };
  const az = a.azure!;
  const resourceGroupName = az.resourceGroupName;
  const location = a.region;
  const tags = a.tags ?? {};
  const client = authorization.getClientConfigOutput({ parent });
  const tenantId = az.tenantId ? pulumi.output(az.tenantId) : client.tenantId;
  const roleDef = (id: string) =>
    pulumi.interpolate`/subscriptions/${client.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${id}`;

  const identity = new managedidentity.UserAssignedIdentity(`${name}-aks`, { resourceGroupName, location, tags }, opts);

  // KMS key for etcd secrets encryption.
  const vault = protectedKeyVault(
    `${name}-kms`,
    { resourceGroupName, location, vaultName: physicalName("ffkms", name).replace(/-/g, "").slice(0, 24), tenantId, tags },
    opts,
  );
  const key = new keyvault.Key(
    `${name}-secrets`,
    {
      resourceGroupName,
      vaultName: vault.name,
      keyName: "kubernetes-secrets",
      properties: {
        kty: "RSA",
        keySize: 2048,
        // a new key version every year; AKS KMS follows the latest version
        rotationPolicy: {
          attributes: { expiryTime: "P2Y" },
          lifetimeActions: [
            { action: { type: "rotate" }, trigger: { timeAfterCreate: "P1Y" } },
            { action: { type: "notify" }, trigger: { timeBeforeExpiry: "P30D" } },
          ],
        },
      },
    },
    opts,
  );
  const kmsGrant = new authorization.RoleAssignment(
    `${name}-aks-kms`,
    {
      principalId: identity.principalId,
      principalType: "ServicePrincipal",
      roleDefinitionId: roleDef(ROLE_KEY_VAULT_CRYPTO_USER),
      scope: vault.id,
    },
    opts,
  );
  // The cloud controller binds the Service to a public IP in this resource group.
  const netGrant = new authorization.RoleAssignment(
    `${name}-aks-network`,
    {
      principalId: identity.principalId,
      principalType: "ServicePrincipal",
      roleDefinitionId: roleDef(ROLE_NETWORK_CONTRIBUTOR),
      scope: az.resourceGroupId,
    },
    opts,
  );

  const cluster = new containerservice.ManagedCluster(
    `${name}-aks`,
    {
      resourceGroupName,
      location,
      dnsPrefix: physicalName("ff", name),
      kubernetesVersion: a.kubernetesVersion,
      identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
      agentPoolProfiles: [
        {
          name: "system",
          mode: "System",
          count: 2,
          minCount: 2,
          maxCount: 4,
          enableAutoScaling: true,
          vmSize: a.nodeSize ?? "Standard_D4s_v5",
          osType: "Linux",
          type: "VirtualMachineScaleSets",
          vnetSubnetID: a.network.managerSubnetIds[0]!,
          enableNodePublicIP: false,
          enableEncryptionAtHost: true,
          availabilityZones: ["1", "2", "3"],
        },
      ],
      networkProfile: {
        networkPlugin: "azure",
        networkPluginMode: "overlay",
        outboundType: "userAssignedNATGateway",
        loadBalancerSku: "standard",
        serviceCidr: "172.20.0.0/16",
        dnsServiceIP: "172.20.0.10",
        podCidr: "172.24.0.0/14",
      },
      apiServerAccessProfile:
        a.apiAllowedCidrs.length > 0
          ? { authorizedIPRanges: a.apiAllowedCidrs, enablePrivateCluster: false }
          : { enablePrivateCluster: true },
      aadProfile: { managed: true, enableAzureRBAC: true, tenantID: tenantId },
      disableLocalAccounts: true,
      enableRBAC: true,
      oidcIssuerProfile: { enabled: true },
      securityProfile: {
        workloadIdentity: { enabled: true },
        azureKeyVaultKms: { enabled: true, keyId: key.keyUriWithVersion, keyVaultNetworkAccess: "Public" },
      },
      autoUpgradeProfile: { upgradeChannel: "stable", nodeOSUpgradeChannel: "NodeImage" },
      tags,
    },
    { parent, dependsOn: [kmsGrant, netGrant] },
  );

  // Local accounts are off: the principal running `pulumi up` deploys the manager through Entra ID RBAC.
  new authorization.RoleAssignment(
    `${name}-deployer`,
    { principalId: client.objectId, roleDefinitionId: roleDef(ROLE_AKS_RBAC_CLUSTER_ADMIN), scope: cluster.id },
    opts,
  );

  const logs = new operationalinsights.Workspace(
    `${name}-logs`,
    { resourceGroupName, location, sku: { name: "PerGB2018" }, retentionInDays: 90, tags },
    opts,
  );
  new monitor.DiagnosticSetting(
    `${name}-aks-logs`,
    { resourceUri: cluster.id, workspaceId: logs.id, logs: AKS_LOG_CATEGORIES.map((category) => ({ category, enabled: true })) },
    opts,
  );

  const pip = new network.PublicIPAddress(
    `${name}-manager`,
    {
      resourceGroupName,
      location,
      sku: { name: "Standard", tier: "Regional" },
      publicIPAllocationMethod: "Static",
      publicIPAddressVersion: "IPv4",
      zones: ["1", "2", "3"],
      tags,
    },
    opts,
  );
  const binding = pulumi
    .all([pip.name, pulumi.output(resourceGroupName)])
    .apply(([publicIpName, rg]) => loadBalancerBinding({ cloud: "azure", publicIpName, resourceGroupName: rg }));

  // PostgreSQL flexible server: VNet-integrated (delegated subnet + private DNS), public access disabled.
  const dnsZone = new privatedns.PrivateZone(
    `${name}-db`,
    { resourceGroupName, location: "Global", privateZoneName: `${physicalName("ff", name)}.private.postgres.database.azure.com`, tags },
    opts,
  );
  const dnsLink = new privatedns.VirtualNetworkLink(
    `${name}-db`,
    {
      resourceGroupName,
      privateZoneName: dnsZone.name,
      location: "Global",
      registrationEnabled: false,
      virtualNetwork: { id: a.network.networkId },
    },
    opts,
  );
  const d = a.database ?? {};
  const server = new postgres.Server(
    `${name}-db`,
    {
      resourceGroupName,
      location,
      version: "16",
      sku: { name: d.size ?? "Standard_D2ds_v5", tier: "GeneralPurpose" },
      storage: { storageSizeGB: d.storageGb ?? 128, autoGrow: "Enabled" },
      backup: { backupRetentionDays: d.backupRetentionDays ?? 14, geoRedundantBackup: "Enabled" },
      highAvailability: d.highAvailability === false ? { mode: "Disabled" } : { mode: "ZoneRedundant" },
      network: {
        delegatedSubnetResourceId: a.network.databaseSubnetIds[0]!,
        privateDnsZoneArmResourceId: dnsZone.id,
        publicNetworkAccess: "Disabled",
      },
      administratorLogin: "framefleet",
      administratorLoginPassword: a.databasePassword,
      authConfig: { passwordAuth: "Enabled", activeDirectoryAuth: "Enabled", tenantId },
      tags,
    },
    { parent, dependsOn: [dnsLink] },
  );
  new postgres.Database(`${name}-db`, { resourceGroupName, serverName: server.name, databaseName: "framefleet", charset: "UTF8" }, opts);

  // Entra ID users: the kubeconfig's exec plugin is kubelogin (no static credentials).
  const kubeconfig = containerservice
    .listManagedClusterUserCredentialsOutput({ resourceGroupName, resourceName: cluster.name, format: "exec" }, { parent })
    .apply((c) => Buffer.from(c.kubeconfigs[0]?.value ?? "", "base64").toString());
  return {
    kubeconfig,
    staticIps: [pip.ipAddress.apply((ip) => ip ?? "")],
    binding,
    database: { host: server.fullyQualifiedDomainName.apply((h) => h ?? ""), port: 5432, name: "framefleet", user: "framefleet" },
    workload: {
      azure: {
        issuerUrl: cluster.oidcIssuerProfile.apply((p) => p?.issuerURL ?? ""),
        resourceGroupName,
        subscriptionId: client.subscriptionId,
      },
    },
  };
}
