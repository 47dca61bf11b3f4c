import * as n from "../../rules/network.js";
import { T } from "../../rules/network.js";
import { res, type Cases } from "../helpers.js";

const MGR = ["framefleet:region:Region", "framefleet:manager:ManagerCluster"];
const NET = ["framefleet:network:OutboundOnlyNetwork"];
const WRK = ["framefleet:workers:WorkerPool"];

// A minimal AWS outbound-only network as the recorder sees it (ids are "<name>-id").
function awsNetwork(opts: { privateRoute?: Record<string, unknown>; mapPublic?: boolean; assoc?: boolean } = {}) {
  return [
    res(T.awsVpc, { cidrBlock: "10.0.0.0/16" }, "net-vpc", NET),
    res(T.awsInternetGateway, { vpcId: "net-vpc-id" }, "net-igw", NET),
    res(T.awsEip, { domain: "vpc" }, "net-nat-0", NET),
    res(T.awsSubnet, { vpcId: "net-vpc-id", mapPublicIpOnLaunch: false }, "net-public-0", NET),
    res(T.awsNatGateway, { allocationId: "net-nat-0-id", subnetId: "net-public-0-id" }, "net-nat-0", NET),
    res(T.awsSubnet, { vpcId: "net-vpc-id", mapPublicIpOnLaunch: opts.mapPublic ?? false }, "net-private-0", NET),
    res(T.awsRouteTable, { vpcId: "net-vpc-id" }, "net-private-rt-0", NET),
    res(
      T.awsRoute,
      {
        routeTableId: "net-private-rt-0-id",
        destinationCidrBlock: "0.0.0.0/0",
        ...(opts.privateRoute ?? { natGatewayId: "net-nat-0-id" }),
      },
      "net-private-default-0",
      NET,
    ),
    ...(opts.assoc === false
      ? []
      : [res(T.awsRouteTableAssociation, { subnetId: "net-private-0-id", routeTableId: "net-private-rt-0-id" }, "net-private-0", NET)]),
    res(T.awsFlowLog, { vpcId: "net-vpc-id", trafficType: "ALL" }, "net-flow-logs", NET),
  ];
}
const asg = (subnets: unknown[]) => res(T.awsAsg, { vpcZoneIdentifiers: subnets, minSize: 0, maxSize: 4 }, "encode-asg", WRK);

function gcpNetwork(withNat = true) {
  return [
    res(T.gcpNetwork, { autoCreateSubnetworks: false }, "net-net", NET),
    res(T.gcpSubnetwork, { network: "projects/mock-project/net-net", region: "europe-west1", logConfig: {} }, "net-workers", NET),
    res(T.gcpAddress, { addressType: "EXTERNAL", region: "europe-west1" }, "net-nat-0", NET),
    res(T.gcpRouter, { network: "projects/mock-project/net-net", region: "europe-west1" }, "net-router", NET),
    ...(withNat
      ? [
          res(
            T.gcpRouterNat,
            {
              router: "net-router",
              region: "europe-west1",
              natIps: ["https://www.googleapis.com/compute/v1/projects/mock-project/net-nat-0"],
              sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
            },
            "net-nat",
            NET,
          ),
        ]
      : []),
  ];
}
const gcpTemplate = (subnetwork: unknown, extra: Record<string, unknown> = {}) =>
  res(T.gcpRegionInstanceTemplate, { networkInterfaces: [{ subnetwork, ...extra }] }, "encode-spot", WRK);

function azureNetwork(nat = true) {
  return [
    res(T.azPublicIp, { sku: { name: "Standard" } }, "net-nat-ip", NET),
    res(
      T.azNatGateway,
      { publicIpAddresses: [{ id: "/subscriptions/0/resourceGroups/rg/providers/Microsoft.network/PublicIPAddress/net-nat-ip" }] },
      "net-nat",
      NET,
    ),
    res(T.azVnet, { addressSpace: { addressPrefixes: ["10.2.0.0/16"] } }, "net-vnet", NET),
    res(
      T.azSubnet,
      {
        virtualNetworkName: "net-vnet",
        defaultOutboundAccess: false,
        ...(nat ? { natGateway: { id: "/subscriptions/0/providers/Microsoft.network/NatGateway/net-nat" } } : {}),
      },
      "net-workers",
      NET,
    ),
  ];
}
const vmss = (subnetId: unknown, ipExtra: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  res(
    T.azVmss,
    {
      virtualMachineProfile: {
        networkProfile: {
          networkInterfaceConfigurations: [{ name: "nic", ipConfigurations: [{ name: "ip", subnet: { id: subnetId }, ...ipExtra }] }],
        },
        ...extra,
      },
    },
    "encode-vmss",
    WRK,
  );

export const networkCases: Cases[] = [
  {
    rule: n.workerNoPublicIp,
    pass: [
      res(T.awsLaunchTemplate, { networkInterfaces: [{ deviceIndex: 0, associatePublicIpAddress: "false" }] }, "encode-lt", WRK),
      res(T.awsInstance, { associatePublicIpAddress: false }),
      gcpTemplate("sn"),
      vmss("sn"),
    ],
    fail: [
      [res(T.awsLaunchTemplate, { networkInterfaces: [{ associatePublicIpAddress: "true" }] }), /associates a public IP/],
      [res(T.awsInstance, { associatePublicIpAddress: true }), /associatePublicIpAddress is true/],
      [gcpTemplate("sn", { accessConfigs: [{}] }), /accessConfig/],
      [gcpTemplate("sn", { ipv6AccessConfigs: [{ networkTier: "PREMIUM" }] }), /ipv6AccessConfig/],
      [vmss("sn", { publicIPAddressConfiguration: { name: "pip" } }), /publicIPAddressConfiguration/],
    ],
  },
  {
    rule: n.noPublicIngress,
    pass: [
      res(T.awsSecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/16"] }] }),
      res(T.awsSecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] }, "lb-sg", MGR),
      res(
        T.awsSecurityGroup,
        { ingress: [], egress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] },
        "workers",
      ),
      res(T.awsSecurityGroupRule, { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }),
      res(T.gcpFirewall, { direction: "INGRESS", denies: [{ protocol: "all" }], sourceRanges: ["0.0.0.0/0"] }, "deny-all"),
      res(T.gcpFirewall, { allows: [{ protocol: "tcp", ports: ["8443"] }], sourceRanges: ["0.0.0.0/0"] }, "manager-grpc", MGR),
      res(T.gcpFirewall, { allows: [{ protocol: "tcp", ports: ["22"] }], sourceRanges: ["35.235.240.0/20"] }, "iap-ssh"),
      res(T.azNsg, {
        securityRules: [
          { name: "deny", direction: "Inbound", access: "Deny", protocol: "*", sourceAddressPrefix: "*", destinationPortRange: "*" },
        ],
      }),
      res(
        T.k8sService,
        { metadata: { name: "manager" }, spec: { type: "LoadBalancer", ports: [{ port: 443 }, { port: 8443 }] } },
        "manager-api",
        ["framefleet:manager:ManagerDeployment"],
      ),
      res(
        T.k8sService,
        {
          spec: { type: "LoadBalancer", ports: [{ port: 9090 }] },
          metadata: { annotations: { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" } },
        },
        "metrics",
      ),
    ],
    fail: [
      [
        res(T.awsSecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }] }, "workers"),
        /port 22/,
      ],
      [
        res(T.awsSecurityGroup, { ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] }, "lb", MGR),
        /all ports/,
      ],
      [
        res(T.awsSecurityGroup, { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, ipv6CidrBlocks: ["::/0"] }] }, "workers"),
        /::\/0/,
      ],
      [
        res(T.awsSecurityGroupRule, { type: "ingress", protocol: "tcp", fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] }),
        /ingress rule/,
      ],
      [res(T.awsIngressRule, { ipProtocol: "tcp", fromPort: 8080, toPort: 8080, cidrIpv4: "0.0.0.0/0" }), /port 8080/],
      [res(T.gcpFirewall, { allows: [{ protocol: "tcp", ports: ["22", "3389"] }], sourceRanges: ["0.0.0.0/0"] }), /tcp\/22/],
      [res(T.gcpFirewall, { allows: [{ protocol: "tcp", ports: ["443"] }] }, "workers-https"), /defaults to 0\.0\.0\.0\/0/],
      [res(T.gcpFirewall, { allows: [{ protocol: "tcp", ports: ["8443"] }], sourceRanges: ["0.0.0.0/0"] }, "workers-grpc", WRK), /8443/],
      [
        res(T.azNsg, {
          securityRules: [
            {
              name: "ssh",
              direction: "Inbound",
              access: "Allow",
              protocol: "Tcp",
              sourceAddressPrefix: "Internet",
              destinationPortRange: "22",
            },
          ],
        }),
        /rule "ssh" allows tcp\/22 from Internet/,
      ],
      [
        res(
          T.azSecurityRule,
          { direction: "Inbound", access: "Allow", protocol: "*", sourceAddressPrefix: "*", destinationPortRanges: ["80", "443"] },
          "web",
        ),
        /80/,
      ],
      [res(T.k8sService, { spec: { type: "LoadBalancer", ports: [{ port: 5432 }] } }, "postgres"), /LoadBalancer port 5432/],
      [res(T.k8sService, { spec: { type: "LoadBalancer", ports: [{ port: 9090 }] } }, "manager-metrics", MGR), /9090/],
    ],
  },
  {
    rule: n.defaultSecurityGroupClosed,
    pass: [res(T.awsDefaultSecurityGroup, { vpcId: "v", ingress: [], egress: [] })],
    fail: [
      [
        res(T.awsDefaultSecurityGroup, { vpcId: "v", ingress: [{ protocol: "-1", self: true, fromPort: 0, toPort: 0 }], egress: [] }),
        /1 ingress/,
      ],
      [res(T.awsDefaultSecurityGroup, { vpcId: "v" }), /must both be set/],
    ],
  },
  {
    rule: n.flowLogsEnabled,
    pass: [
      res(T.awsFlowLog, { vpcId: "v", trafficType: "ALL" }),
      res(T.gcpSubnetwork, { logConfig: { aggregationInterval: "INTERVAL_5_SEC" } }),
      res(T.gcpSubnetwork, { purpose: "REGIONAL_MANAGED_PROXY" }, "proxy-only"),
      res(T.azFlowLog, { enabled: true, targetResourceId: "x", storageId: "s" }),
    ],
    fail: [
      [res(T.awsFlowLog, { vpcId: "v", trafficType: "REJECT" }), /REJECT/],
      [res(T.gcpSubnetwork, { privateIpGoogleAccess: true }), /no logConfig/],
      [res(T.azFlowLog, { enabled: false }), /disabled/],
    ],
  },
  {
    rule: n.subnetNoAutoPublicIp,
    pass: [res(T.awsSubnet, { mapPublicIpOnLaunch: false }), res(T.awsSubnet, {})],
    fail: [[res(T.awsSubnet, { mapPublicIpOnLaunch: true }), /mapPublicIpOnLaunch/]],
  },
  {
    rule: n.gcpNetworkCustomMode,
    pass: [res(T.gcpNetwork, { autoCreateSubnetworks: false })],
    fail: [
      [res(T.gcpNetwork, {}), /auto-mode/],
      [res(T.gcpNetwork, { autoCreateSubnetworks: true }), /auto-mode/],
    ],
  },
  {
    rule: n.gcpPrivateGoogleAccess,
    pass: [res(T.gcpSubnetwork, { privateIpGoogleAccess: true }), res(T.gcpSubnetwork, { purpose: "PRIVATE_SERVICE_CONNECT" })],
    fail: [[res(T.gcpSubnetwork, {}), /privateIpGoogleAccess/]],
  },
  {
    rule: n.azureNoDefaultOutbound,
    pass: [
      res(T.azSubnet, { defaultOutboundAccess: false }),
      res(T.azVnet, { subnets: [{ name: "a", defaultOutboundAccess: false }] }),
      res(T.azVnet, {}),
    ],
    fail: [
      [res(T.azSubnet, {}), /defaultOutboundAccess/],
      [res(T.azVnet, { subnets: [{ name: "legacy" }] }), /inline subnet "legacy"/],
    ],
  },
  {
    rule: n.managerOnlyPublicAddress,
    pass: [
      awsNetwork(),
      [...awsNetwork(), res(T.awsEip, { domain: "vpc" }, "manager-ip-0", MGR), res(T.awsLoadBalancer, { internal: true }, "internal-lb")],
      gcpNetwork(),
      [
        ...gcpNetwork(),
        res(T.gcpAddress, { addressType: "EXTERNAL" }, "manager-ip", MGR),
        res(T.gcpGlobalAddress, { addressType: "INTERNAL", purpose: "VPC_PEERING" }, "sql-range"),
      ],
      azureNetwork(),
      [
        ...azureNetwork(),
        res(T.azPublicIp, { sku: { name: "Standard" } }, "manager-ip", MGR),
        res(T.k8sService, { spec: { type: "LoadBalancer", ports: [{ port: 443 }] } }, "manager", ["framefleet:manager:ManagerDeployment"]),
        res(T.k8sService, { spec: { type: "ClusterIP", ports: [{ port: 80 }] } }, "internal-svc"),
      ],
    ],
    fail: [
      [[...awsNetwork(), res(T.awsEip, { domain: "vpc", instance: "i-1" }, "worker-ip", WRK)], /Elastic IP that is neither/],
      [[res(T.awsLoadBalancer, { loadBalancerType: "network" }, "debug-nlb")], /internet-facing load balancer/],
      [[...gcpNetwork(false)], /external address/],
      [[res(T.gcpGlobalAddress, {}, "web-ip")], /global external address/],
      [[res(T.gcpForwardingRule, { loadBalancingScheme: "EXTERNAL_MANAGED" }, "fw")], /external forwarding rule/],
      [[...azureNetwork(), res(T.azPublicIp, {}, "bastion-ip")], /public IP address/],
      [[res(T.k8sService, { spec: { type: "LoadBalancer", ports: [{ port: 80 }] } }, "grafana")], /LoadBalancer Service/],
    ],
  },
  {
    rule: n.workersInPrivateSubnets,
    pass: [
      [...awsNetwork(), asg(["net-private-0-id"])],
      [...awsNetwork({ privateRoute: { transitGatewayId: "tgw-1" } }), asg(["net-private-0-id"])],
      [
        ...awsNetwork(),
        res(T.awsRouteTable, { routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: "nat-1" }] }, "inline-rt"),
        res(T.awsSubnet, {}, "sn2"),
        res(T.awsRouteTableAssociation, { subnetId: "sn2-id", routeTableId: "inline-rt-id" }, "sn2"),
        asg(["sn2-id"]),
      ],
      [...gcpNetwork(), gcpTemplate("projects/mock-project/net-workers")],
      [...azureNetwork(), vmss("/subscriptions/0/resourceGroups/rg/providers/Microsoft.network/Subnet/net-workers")],
    ],
    fail: [
      [[...awsNetwork({ privateRoute: { gatewayId: "net-igw-id" } }), asg(["net-private-0-id"])], /internet gateway/],
      [[...awsNetwork({ privateRoute: { gatewayId: "igw-0abc" } }), asg(["net-private-0-id"])], /internet gateway/],
      [[...awsNetwork({ mapPublic: true }), asg(["net-private-0-id"])], /maps public IPs/],
      [[...awsNetwork({ assoc: false }), asg(["net-private-0-id"])], /no route table association/],
      [[...awsNetwork({ privateRoute: { vpcPeeringConnectionId: "pcx-1" } }), asg(["net-private-0-id"])], /no default route through a NAT/],
      [[...awsNetwork(), asg([])], /default VPC/],
      [[...awsNetwork(), asg(["subnet-0123456789"])], /not declared in this stack/],
      [[...awsNetwork(), asg(["net-public-0-id"])], /no route table association|internet gateway/],
      [[...gcpNetwork(false), gcpTemplate("projects/mock-project/net-workers")], /not covered by a Cloud NAT/],
      [[...gcpNetwork(), gcpTemplate(undefined)], /not declared/],
      [[...azureNetwork(false), vmss("/subscriptions/0/x/Subnet/net-workers")], /has no NAT gateway/],
      [[...azureNetwork(), vmss("/subscriptions/0/x/Subnet/elsewhere")], /not declared/],
    ],
  },
  {
    rule: n.vpcFlowLogsPresent,
    pass: [awsNetwork(), []],
    fail: [
      [[res(T.awsVpc, {}, "vpc2"), res(T.awsFlowLog, { vpcId: "other-id", trafficType: "ALL" }, "fl")], /no flow log references this VPC/],
    ],
  },
  {
    rule: n.vpcDefaultSecurityGroupAdopted,
    pass: [[...awsNetwork(), res(T.awsDefaultSecurityGroup, { vpcId: "net-vpc-id", ingress: [], egress: [] }, "net-default-sg", NET)], []],
    fail: [
      [awsNetwork(), /default security group is not adopted/],
      [
        [...awsNetwork(), res(T.awsDefaultSecurityGroup, { vpcId: "other-vpc-id", ingress: [], egress: [] }, "other-default-sg")],
        /net-vpc/,
      ],
    ],
  },
  {
    rule: n.azureVnetFlowLogs,
    pass: [
      [
        res(T.azVnet, {}, "net-vnet"),
        res(T.azFlowLog, { targetResourceId: "/subscriptions/0/x/VirtualNetwork/net-vnet", enabled: true }, "fl"),
      ],
    ],
    fail: [[azureNetwork(), /no VNet flow log/]],
  },
];

export { awsNetwork, gcpNetwork, azureNetwork, asg, gcpTemplate, vmss, MGR, NET, WRK };
