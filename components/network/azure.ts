// OutboundOnlyNetwork on Azure: a VNet whose subnets leave through a NAT
// gateway on a static Standard public IP, with default outbound access off and
// an NSG that denies every inbound flow to worker hosts.
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network/index.js";
import type { AddressPlan } from "./plan.js";
import type { NetworkRefs, NormalizedNetworkArgs } from "./index.js";

export function createAzureNetwork(parent: pulumi.Resource, name: string, a: NormalizedNetworkArgs, plan: AddressPlan): NetworkRefs {
  const opts = { parent };
  const resourceGroupName = a.azureResourceGroupName!;
  const location = a.region;
  const tags = a.tags;

  const natIp = new network.PublicIPAddress(
    `${name}-nat-ip`,
    {
      resourceGroupName,
      location,
      sku: { name: "Standard", tier: "Regional" },
      publicIPAllocationMethod: "Static",
      publicIPAddressVersion: "IPv4",
      tags,
    },
    opts,
  );
  const nat = new network.NatGateway(
    `${name}-nat`,
    { resourceGroupName, location, sku: { name: "Standard" }, publicIpAddresses: [{ id: natIp.id }], idleTimeoutInMinutes: 10, tags },
    opts,
  );
  const workerNsg = new network.NetworkSecurityGroup(
    `${name}-workers-nsg`,
    {
      resourceGroupName,
      location,
      tags,
      securityRules: [
        {
          name: "deny-all-inbound",
          priority: 100,
          direction: "Inbound",
          access: "Deny",
          protocol: "*",
          sourceAddressPrefix: "*",
          sourcePortRange: "*",
          destinationAddressPrefix: "*",
          destinationPortRange: "*",
          description: "framefleet: nothing listens on a worker host",
        },
        {
          name: "allow-egress-ports",
          priority: 100,
          direction: "Outbound",
          access: "Allow",
          protocol: "Tcp",
          sourceAddressPrefix: "*",
          sourcePortRange: "*",
          destinationAddressPrefix: "*",
          destinationPortRanges: a.egressPorts.map(String),
          description: "framefleet: workers dial the manager, the registry and storage",
        },
        {
          // Azure's platform endpoints (168.63.129.16, IMDS) are not subject to NSG rules.
          name: "deny-other-egress",
          priority: 4000,
          direction: "Outbound",
          access: "Deny",
          protocol: "*",
          sourceAddressPrefix: "*",
          sourcePortRange: "*",
          destinationAddressPrefix: "*",
          destinationPortRange: "*",
          description: "framefleet: no other egress from worker hosts",
        },
      ],
    },
    opts,
  );
  const vnet = new network.VirtualNetwork(
    `${name}-vnet`,
    { resourceGroupName, location, addressSpace: { addressPrefixes: [plan.network] }, tags },
    // Subnets are separate resources; stop the VNet from reconciling them away.
    { parent, ignoreChanges: ["subnets"] },
  );
  // Azure serialises subnet operations on a VNet; chain them to avoid AnotherOperationInProgress.
  const workers = new network.Subnet(
    `${name}-workers`,
    {
      resourceGroupName,
      virtualNetworkName: vnet.name,
      addressPrefix: plan.private[0]!,
      natGateway: { id: nat.id },
      networkSecurityGroup: { id: workerNsg.id },
      defaultOutboundAccess: false,
      serviceEndpoints: [{ service: "Microsoft.Storage" }, { service: "Microsoft.ContainerRegistry" }],
    },
    opts,
  );
  const manager = new network.Subnet(
    `${name}-manager`,
    {
      resourceGroupName,
      virtualNetworkName: vnet.name,
      addressPrefix: plan.manager,
      natGateway: { id: nat.id },
      defaultOutboundAccess: false,
    },
    { parent, dependsOn: [workers] },
  );
  const database = new network.Subnet(
    `${name}-database`,
    {
      resourceGroupName,
      virtualNetworkName: vnet.name,
      addressPrefix: plan.database,
      defaultOutboundAccess: false,
      delegations: [{ name: "postgres-flexible", serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }],
    },
    { parent, dependsOn: [manager] },
  );

  return {
    cloud: "azure",
    networkId: vnet.id,
    workerSubnetIds: [workers.id],
    managerSubnetIds: [manager.id],
    databaseSubnetIds: [database.id],
    egressIps: [natIp.ipAddress.apply((ip) => ip ?? "")],
    resourceGroupName: pulumi.output(resourceGroupName),
    natGatewayId: nat.id,
    plan,
  };
}
