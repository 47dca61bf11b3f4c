// RegistryMirror on Azure: an ACR (no admin user, no anonymous pull) with one
// cache rule per mirrored namespace.
import * as pulumi from "@pulumi/pulumi";
import * as containerregistry from "@pulumi/azure-native/containerregistry/index.js";
import { physicalName } from "../common.js";
import type { RegistryMirrorArgs, RegistryMirrorRefs } from "./index.js";

export function createAzureMirror(parent: pulumi.Resource, name: string, args: RegistryMirrorArgs, prefix: string): RegistryMirrorRefs {
  const o = { parent };
  const resourceGroupName = args.azure!.resourceGroupName;
  const registry = new containerregistry.Registry(
    `${name}-acr`,
    {
      resourceGroupName,
      location: args.region,
      registryName: physicalName("ff", name, args.region).replace(/-/g, "").slice(0, 50),
      sku: { name: "Premium" },
      adminUserEnabled: false,
      anonymousPullEnabled: false,
      tags: args.tags,
    },
    o,
  );
  args.upstream.namespaces.forEach(
    (ns, i) =>
      new containerregistry.CacheRule(
        `${name}-cache-${i}`,
        {
          resourceGroupName,
          registryName: registry.name,
          cacheRuleName: physicalName(prefix, ns).slice(0, 50),
          sourceRepository: `${args.upstream.host}/${ns}/*`,
          targetRepository: `${prefix}/${ns}/*`,
          credentialSetResourceId: args.upstream.credential,
        },
        o,
      ),
  );
  return { mirror: pulumi.interpolate`${registry.loginServer}/${prefix}`, accessScope: registry.id };
}
