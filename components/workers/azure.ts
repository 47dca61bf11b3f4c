// WorkerPool on Azure: a Flexible-orchestration VM scale set with a priority mix
// (regular base + percentage, the rest Spot with Delete eviction), encryption
// at host, Trusted Launch, SSH keys only, no public IP, and a user-assigned
// identity that may reach only the pool's containers, the registry and the
// join-token secret.
import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import { physicalName } from "../common.js";
import { renderBootstrap } from "./bootstrap.js";
import { bootstrapOutput, type ValidPoolSpec, type WorkerPoolArgs, type WorkerPoolRefs } from "./index.js";

/** Built-in Azure role definition ids (the same in every subscription). */
export const AZURE_ROLES = {
  storageBlobDataReader: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  acrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
} as const;

export const AZURE_DEFAULT_IMAGE = "Canonical:ubuntu-24_04-lts:server:latest";

export function azureImageReference(urn: string): { publisher: string; offer: string; sku: string; version: string } {
  const [publisher, offer, sku, version] = urn.split(":");
  if (!publisher || !offer || !sku || !version) throw new Error(`Azure image must be publisher:offer:sku:version, got "${urn}"`);
  return { publisher, offer, sku, version };
}

/** SKU and instance mix: one size uses it directly; several use the "Mix" SKU with a ranked skuProfile. */
export function azureSku(spec: ValidPoolSpec): {
  sku: { name: string; capacity: number };
  skuProfile?: { vmSizes: { name: string; rank: number }[]; allocationStrategy: string };
} {
  if (spec.instanceTypes.length === 1) return { sku: { name: spec.instanceTypes[0]!.type, capacity: 0 } };
  return {
    sku: { name: "Mix", capacity: 0 },
    skuProfile: { vmSizes: spec.instanceTypes.map((t, i) => ({ name: t.type, rank: i })), allocationStrategy: "CapacityOptimized" },
  };
}

export function azurePriorityMix(spec: ValidPoolSpec): { baseRegularPriorityCount: number; regularPriorityPercentageAboveBase: number } {
  return { baseRegularPriorityCount: spec.onDemandBase, regularPriorityPercentageAboveBase: spec.onDemandPercentageAboveBase };
}

export function createAzureWorkerPool(parent: pulumi.Resource, name: string, args: WorkerPoolArgs, spec: ValidPoolSpec): WorkerPoolRefs {
  const opts = { parent };
  const az = args.azure!;
  const resourceGroupName = az.resourceGroupName;
  const location = args.region;
  const tags = { ...args.tags, "framefleet-pool": spec.name, "framefleet-pool-kind": spec.kind };

  const identity = new managedidentity.UserAssignedIdentity(`${name}-host`, { resourceGroupName, location, tags }, opts);
  const subscriptionId = az.subscriptionId
    ? pulumi.output(az.subscriptionId)
    : authorization.getClientConfigOutput({ parent }).subscriptionId;
  const role = (id: string) => pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${id}`;
  const grant = (n: string, scope: pulumi.Input<string>, roleId: string) =>
    new authorization.RoleAssignment(
      `${name}-${n}`,
      { principalId: identity.principalId, principalType: "ServicePrincipal", roleDefinitionId: role(roleId), scope },
      opts,
    );
  const a = args.access;
  a.readBuckets.forEach((scope, i) => grant(`read-${i}`, scope, AZURE_ROLES.storageBlobDataReader));
  a.writeBuckets.forEach((scope, i) => grant(`write-${i}`, scope, AZURE_ROLES.storageBlobDataContributor));
  grant("mirror", a.registry, AZURE_ROLES.acrPull);
  grant("join", a.joinTokenSecret, AZURE_ROLES.keyVaultSecretsUser);

  // The host reads the join token with this pool's identity: name it in the bootstrap.
  const joinToken = pulumi
    .all([args.bootstrap.joinToken, identity.clientId])
    .apply(([jt, clientId]) => (jt.kind === "azure-keyvault" ? { ...jt, identityClientId: clientId } : jt));
  const userData = bootstrapOutput({ ...args, bootstrap: { ...args.bootstrap, joinToken } }, spec, renderBootstrap);
  const { sku, skuProfile } = azureSku(spec);
  const vmss = new compute.VirtualMachineScaleSet(
    `${name}-vmss`,
    {
      resourceGroupName,
      location,
      orchestrationMode: "Flexible",
      platformFaultDomainCount: 1,
      singlePlacementGroup: false,
      sku,
      skuProfile,
      priorityMixPolicy: azurePriorityMix(spec),
      identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
      virtualMachineProfile: {
        priority: "Spot",
        evictionPolicy: "Delete",
        billingProfile: { maxPrice: -1 },
        osProfile: {
          computerNamePrefix: physicalName("ff", spec.name).slice(0, 9),
          adminUsername: "framefleet",
          customData: userData.apply((u) => Buffer.from(u).toString("base64")),
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ssh: { publicKeys: [{ path: "/home/framefleet/.ssh/authorized_keys", keyData: az.sshPublicKey }] },
            provisionVMAgent: true,
          },
        },
        storageProfile: {
          imageReference: azureImageReference(spec.machineImage ?? AZURE_DEFAULT_IMAGE),
          osDisk: {
            createOption: "FromImage",
            caching: "ReadOnly",
            diskSizeGB: spec.diskGb,
            managedDisk: { storageAccountType: "Premium_LRS" },
          },
        },
        networkProfile: {
          networkApiVersion: "2020-11-01",
          networkInterfaceConfigurations: [
            {
              name: "primary",
              primary: true,
              enableAcceleratedNetworking: true,
              // No publicIPAddressConfiguration: hosts leave through the subnet's NAT gateway.
              ipConfigurations: [{ name: "primary", primary: true, subnet: { id: args.network.workerSubnetIds[0]! } }],
            },
          ],
        },
        securityProfile: {
          encryptionAtHost: true,
          securityType: "TrustedLaunch",
          uefiSettings: { secureBootEnabled: true, vTpmEnabled: true },
        },
        scheduledEventsProfile: { terminateNotificationProfile: { enable: true, notBeforeTimeout: "PT5M" } },
      },
      tags,
    },
    // The runtime autoscaler owns the capacity.
    { parent, ignoreChanges: ["sku.capacity"] },
  );
  return { groups: { vmss: vmss.name }, groupIds: [vmss.id], identity: identity.principalId, userData };
}
