// The Key Vault framefleet keeps customer-managed keys in, on Azure: RBAC only,
// soft delete for 90 days and purge protection, so a deleted key (and the data
// encrypted with it) can be recovered. One definition for every component that
// needs a vault (the manager's secrets key, the media buckets' key).
import type * as pulumi from "@pulumi/pulumi";
import * as keyvault from "@pulumi/azure-native/keyvault/index.js";

export function protectedKeyVault(
  resourceName: string,
  args: {
    resourceGroupName: pulumi.Input<string>;
    location: pulumi.Input<string>;
    vaultName: string;
    tenantId: pulumi.Input<string>;
    tags: Record<string, string>;
  },
  opts: pulumi.CustomResourceOptions,
): keyvault.Vault {
  return new keyvault.Vault(
    resourceName,
    {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      vaultName: args.vaultName,
      properties: {
        tenantId: args.tenantId,
        sku: { family: "A", name: "standard" },
        enableRbacAuthorization: true,
        enableSoftDelete: true,
        softDeleteRetentionInDays: 90,
        enablePurgeProtection: true,
      },
      tags: args.tags,
    },
    opts,
  );
}
