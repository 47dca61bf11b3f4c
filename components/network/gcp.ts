// OutboundOnlyNetwork on GCP: a custom-mode network, regional subnetworks with
// private Google access and flow logs, Cloud Router + Cloud NAT on reserved
// addresses, and explicit deny-all-ingress firewalls. Instances get no
// external IP (the worker templates carry no access config).
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { AddressPlan } from "./plan.js";
import type { NetworkRefs, NormalizedNetworkArgs } from "./index.js";

export const GCP_WORKER_TAG = "framefleet-worker";

export function createGcpNetwork(parent: pulumi.Resource, name: string, a: NormalizedNetworkArgs, plan: AddressPlan): NetworkRefs {
  const opts = { parent };
  const project = a.gcpProject;
  const flowLogs = { aggregationInterval: "INTERVAL_5_SEC", flowSampling: 0.5, metadata: "INCLUDE_ALL_METADATA" };

  const network = new gcp.compute.Network(
    `${name}-net`,
    { project, autoCreateSubnetworks: false, routingMode: "REGIONAL", description: "framefleet outbound-only network" },
    opts,
  );
  const workers = new gcp.compute.Subnetwork(
    `${name}-workers`,
    { project, region: a.region, network: network.id, ipCidrRange: plan.private[0]!, privateIpGoogleAccess: true, logConfig: flowLogs },
    opts,
  );
  const podsRangeName = "pods";
  const servicesRangeName = "services";
  const manager = new gcp.compute.Subnetwork(
    `${name}-manager`,
    {
      project,
      region: a.region,
      network: network.id,
      ipCidrRange: plan.manager,
      privateIpGoogleAccess: true,
      logConfig: flowLogs,
      secondaryIpRanges: [
        { rangeName: podsRangeName, ipCidrRange: plan.pods },
        { rangeName: servicesRangeName, ipCidrRange: plan.services },
      ],
    },
    opts,
  );

  const natIps = a.zones.map(
    (_, i) =>
      new gcp.compute.Address(
        `${name}-nat-${i}`,
        { project, region: a.region, addressType: "EXTERNAL", networkTier: "PREMIUM", description: "framefleet NAT egress" },
        opts,
      ),
  );
  const router = new gcp.compute.Router(`${name}-router`, { project, region: a.region, network: network.id }, opts);
  new gcp.compute.RouterNat(
    `${name}-nat`,
    {
      project,
      region: a.region,
      router: router.name,
      natIpAllocateOption: "MANUAL_ONLY",
      natIps: natIps.map((ip) => ip.selfLink),
      sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
      enableEndpointIndependentMapping: false,
      logConfig: { enable: true, filter: "ERRORS_ONLY" },
    },
    opts,
  );

  // Worker hosts: an explicit, high-priority deny of every inbound packet, so no later allow rule can open them.
  new gcp.compute.Firewall(
    `${name}-deny-ingress-workers`,
    {
      project,
      network: network.id,
      direction: "INGRESS",
      priority: 100,
      denies: [{ protocol: "all" }],
      sourceRanges: ["0.0.0.0/0"],
      targetTags: [GCP_WORKER_TAG],
      logConfig: { metadata: "INCLUDE_ALL_METADATA" },
      description: "framefleet: nothing listens on a worker host",
    },
    opts,
  );
  // Worker egress: only the listed TCP ports (the metadata server, its DNS and Private Google Access stay reachable).
  new gcp.compute.Firewall(
    `${name}-allow-egress-workers`,
    {
      project,
      network: network.id,
      direction: "EGRESS",
      priority: 1000,
      allows: [{ protocol: "tcp", ports: a.egressPorts.map(String) }],
      destinationRanges: ["0.0.0.0/0"],
      targetTags: [GCP_WORKER_TAG],
      description: "framefleet: workers dial the manager, the registry and storage",
    },
    opts,
  );
  new gcp.compute.Firewall(
    `${name}-deny-egress-workers`,
    {
      project,
      network: network.id,
      direction: "EGRESS",
      priority: 65000,
      denies: [{ protocol: "all" }],
      destinationRanges: ["0.0.0.0/0"],
      targetTags: [GCP_WORKER_TAG],
      logConfig: { metadata: "INCLUDE_ALL_METADATA" },
      description: "framefleet: no other egress from worker hosts",
    },
    opts,
  );
  // Everything else: deny-all at the lowest priority (GKE adds its own narrow allows for the manager's load balancer).
  new gcp.compute.Firewall(
    `${name}-deny-ingress-all`,
    {
      project,
      network: network.id,
      direction: "INGRESS",
      priority: 65534,
      denies: [{ protocol: "all" }],
      sourceRanges: ["0.0.0.0/0"],
      logConfig: { metadata: "INCLUDE_ALL_METADATA" },
      description: "framefleet: explicit deny-all ingress",
    },
    opts,
  );

  return {
    cloud: "gcp",
    networkId: network.id,
    workerSubnetIds: [workers.id],
    managerSubnetIds: [manager.id],
    databaseSubnetIds: [],
    workerNetworkTag: GCP_WORKER_TAG,
    egressIps: natIps.map((ip) => ip.address),
    podsRangeName,
    servicesRangeName,
    plan,
  };
}
