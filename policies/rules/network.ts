// Network rules: nothing reaches a worker host from outside; the manager's REST
// and gRPC ports are the only doors, and the manager endpoint is the only
// inbound public address; every flow is logged.
import { resourceRule, stackRule, type ResourceView, type StackResourceView, type StackViolation } from "./types.js";
import {
  AZURE_WORLD,
  RefIndex,
  arr,
  fmtRange,
  get,
  isFalse,
  isManagerScoped,
  isObj,
  isTrue,
  isWorldCidr,
  label,
  num,
  objs,
  parsePortRange,
  rangeWithin,
  strs,
  type Obj,
} from "./util.js";

export const T = {
  awsLaunchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  awsInstance: "aws:ec2/instance:Instance",
  awsSecurityGroup: "aws:ec2/securityGroup:SecurityGroup",
  awsSecurityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  awsIngressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  awsDefaultSecurityGroup: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
  awsFlowLog: "aws:ec2/flowLog:FlowLog",
  awsSubnet: "aws:ec2/subnet:Subnet",
  awsVpc: "aws:ec2/vpc:Vpc",
  awsEip: "aws:ec2/eip:Eip",
  awsNatGateway: "aws:ec2/natGateway:NatGateway",
  awsInternetGateway: "aws:ec2/internetGateway:InternetGateway",
  awsRouteTable: "aws:ec2/routeTable:RouteTable",
  awsRoute: "aws:ec2/route:Route",
  awsRouteTableAssociation: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  awsLoadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  awsAlbLoadBalancer: "aws:alb/loadBalancer:LoadBalancer",
  awsAsg: "aws:autoscaling/group:Group",
  gcpInstanceTemplate: "gcp:compute/instanceTemplate:InstanceTemplate",
  gcpRegionInstanceTemplate: "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate",
  gcpInstance: "gcp:compute/instance:Instance",
  gcpFirewall: "gcp:compute/firewall:Firewall",
  gcpNetwork: "gcp:compute/network:Network",
  gcpSubnetwork: "gcp:compute/subnetwork:Subnetwork",
  gcpRouter: "gcp:compute/router:Router",
  gcpRouterNat: "gcp:compute/routerNat:RouterNat",
  gcpAddress: "gcp:compute/address:Address",
  gcpGlobalAddress: "gcp:compute/globalAddress:GlobalAddress",
  gcpForwardingRule: "gcp:compute/forwardingRule:ForwardingRule",
  gcpGlobalForwardingRule: "gcp:compute/globalForwardingRule:GlobalForwardingRule",
  azVmss: "azure-native:compute:VirtualMachineScaleSet",
  azVm: "azure-native:compute:VirtualMachine",
  azNsg: "azure-native:network:NetworkSecurityGroup",
  azSecurityRule: "azure-native:network:SecurityRule",
  azSubnet: "azure-native:network:Subnet",
  azVnet: "azure-native:network:VirtualNetwork",
  azNatGateway: "azure-native:network:NatGateway",
  azPublicIp: "azure-native:network:PublicIPAddress",
  azFlowLog: "azure-native:network:FlowLog",
  k8sService: "kubernetes:core/v1:Service",
} as const;

const GCP_TEMPLATES = [T.gcpInstanceTemplate, T.gcpRegionInstanceTemplate, T.gcpInstance];

/** Azure VMSS / VM network interface configurations' IP configurations. */
function azureIpConfigs(r: ResourceView): Obj[] {
  const nics =
    r.type === T.azVmss
      ? get(r.props, "virtualMachineProfile.networkProfile.networkInterfaceConfigurations")
      : get(r.props, "networkProfile.networkInterfaceConfigurations");
  return objs(nics).flatMap((n) => objs(n.ipConfigurations ?? get(n, "properties.ipConfigurations")));
}

export const workerNoPublicIp = resourceRule({
  name: "worker-no-public-ip",
  description: "Compute hosts (worker pools, instances) get no public IP address: they only dial out through NAT.",
  remediation:
    "AWS: set networkInterfaces[].associatePublicIpAddress=false on the launch template (or associatePublicIpAddress=false on the instance). GCP: remove accessConfigs from the template's networkInterfaces. Azure: remove publicIPAddressConfiguration from the scale set's ipConfigurations.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "network",
  clouds: ["aws", "gcp", "azure"],
  types: [T.awsLaunchTemplate, T.awsInstance, ...GCP_TEMPLATES, T.azVmss, T.azVm],
  defaults: {},
  check(r) {
    const out: string[] = [];
    if (r.type === T.awsLaunchTemplate) {
      objs(r.props.networkInterfaces).forEach((ni, i) => {
        if (isTrue(ni.associatePublicIpAddress)) out.push(`${label(r)}: networkInterfaces[${i}] associates a public IP address`);
      });
    } else if (r.type === T.awsInstance) {
      if (isTrue(r.props.associatePublicIpAddress)) out.push(`${label(r)}: associatePublicIpAddress is true`);
    } else if (GCP_TEMPLATES.includes(r.type as never)) {
      objs(r.props.networkInterfaces).forEach((ni, i) => {
        if (arr(ni.accessConfigs).length > 0) out.push(`${label(r)}: networkInterfaces[${i}] has an accessConfig (external IPv4 address)`);
        if (arr(ni.ipv6AccessConfigs).length > 0)
          out.push(`${label(r)}: networkInterfaces[${i}] has an ipv6AccessConfig (external IPv6 address)`);
      });
    } else {
      azureIpConfigs(r).forEach((ip) => {
        if (ip.publicIPAddressConfiguration !== undefined && ip.publicIPAddressConfiguration !== null)
          out.push(`${label(r)}: ipConfiguration "${String(ip.name ?? "?")}" has a publicIPAddressConfiguration`);
      });
    }
    return out;
  },
});

interface IngressCfg extends Record<string, unknown> {
  /** TCP ports the manager serves to the world (REST, gRPC) */
  managerPorts: number[];
  /** regular expression; a resource whose URN/name matches (or that sits under a framefleet:manager component) may open managerPorts */
  managerPattern: string;
}

interface Opening {
  what: string;
  range: [number, number];
  protocol: string;
}

function awsProtocolRange(protocol: unknown, from: unknown, to: unknown): { protocol: string; range: [number, number] } {
  const p = String(protocol ?? "-1").toLowerCase();
  if (p === "-1" || p === "all") return { protocol: "all", range: [0, 65535] };
  const lo = num(from);
  const hi = num(to);
  if (p === "icmp" || p === "icmpv6" || p === "1" || p === "58") return { protocol: p, range: [0, 65535] };
  return { protocol: p === "6" ? "tcp" : p === "17" ? "udp" : p, range: [lo ?? 0, hi ?? lo ?? 65535] };
}

function worldOpenings(r: ResourceView): Opening[] {
  const out: Opening[] = [];
  const p = r.props;
  const fromAwsRule = (rule: Obj, what: string) => {
    const world = [...strs(rule.cidrBlocks), ...strs(rule.ipv6CidrBlocks)].filter(isWorldCidr);
    if (world.length)
      out.push({ what: `${what} from ${world.join(", ")}`, ...awsProtocolRange(rule.protocol, rule.fromPort, rule.toPort) });
  };
  switch (r.type) {
    case T.awsSecurityGroup:
      objs(p.ingress).forEach((rule, i) => fromAwsRule(rule, `ingress[${i}]`));
      break;
    case T.awsSecurityGroupRule:
      if (p.type === "ingress") fromAwsRule(p, "ingress rule");
      break;
    case T.awsIngressRule: {
      const world = [p.cidrIpv4, p.cidrIpv6].filter(isWorldCidr) as string[];
      if (world.length)
        out.push({ what: `ingress rule from ${world.join(", ")}`, ...awsProtocolRange(p.ipProtocol, p.fromPort, p.toPort) });
      break;
    }
    case T.gcpFirewall: {
      if (String(p.direction ?? "INGRESS").toUpperCase() !== "INGRESS" || isTrue(p.disabled)) break;
      const ranges = strs(p.sourceRanges);
      // With no source of any kind GCP applies 0.0.0.0/0.
      const implicitWorld = ranges.length === 0 && arr(p.sourceTags).length === 0 && arr(p.sourceServiceAccounts).length === 0;
      const world = ranges.filter(isWorldCidr);
      if (!world.length && !implicitWorld) break;
      for (const a of objs(p.allows)) {
        const proto = String(a.protocol ?? "all").toLowerCase();
        const ports = strs(a.ports);
        const src = implicitWorld ? "no source range (defaults to 0.0.0.0/0)" : world.join(", ");
        if (ports.length === 0 || proto === "all") out.push({ what: `allow ${proto} from ${src}`, protocol: proto, range: [0, 65535] });
        for (const port of ports) {
          const range = parsePortRange(port) ?? [0, 65535];
          out.push({ what: `allow ${proto}/${port} from ${src}`, protocol: proto, range });
        }
      }
      break;
    }
    case T.azNsg:
    case T.azSecurityRule: {
      const rules = r.type === T.azNsg ? objs(p.securityRules) : [p];
      for (const rule of rules) {
        if (String(rule.direction ?? "").toLowerCase() !== "inbound" || String(rule.access ?? "").toLowerCase() !== "allow") continue;
        const sources = [...strs(rule.sourceAddressPrefixes), ...strs([rule.sourceAddressPrefix])];
        const world = sources.filter((s) => AZURE_WORLD.includes(s.toLowerCase()));
        if (!world.length) continue;
        const proto = String(rule.protocol ?? "*").toLowerCase();
        const ports = [...strs(rule.destinationPortRanges), ...strs([rule.destinationPortRange])];
        if (ports.length === 0) ports.push("*");
        for (const port of ports)
          out.push({
            what: `rule "${String(rule.name ?? r.name)}" allows ${proto}/${port} from ${world.join(", ")}`,
            protocol: proto === "*" ? "all" : proto,
            range: parsePortRange(port) ?? [0, 65535],
          });
      }
      break;
    }
    case T.k8sService: {
      if (get(p, "spec.type") !== "LoadBalancer" || isInternalLbService(p)) break;
      const sourceRanges = strs(get(p, "spec.loadBalancerSourceRanges"));
      if (sourceRanges.length && !sourceRanges.some(isWorldCidr)) break;
      for (const port of objs(get(p, "spec.ports"))) {
        const n = num(port.port);
        out.push({
          what: `LoadBalancer port ${n ?? "?"} open to the internet`,
          protocol: String(port.protocol ?? "TCP").toLowerCase(),
          range: [n ?? 0, n ?? 65535],
        });
      }
      break;
    }
  }
  return out;
}

export function isInternalLbService(props: Obj): boolean {
  const ann = (get(props, "metadata.annotations") ?? {}) as Obj;
  const v = (k: string) => String(ann[k] ?? "").toLowerCase();
  return (
    v("service.beta.kubernetes.io/aws-load-balancer-scheme") === "internal" ||
    v("service.beta.kubernetes.io/aws-load-balancer-internal") === "true" ||
    v("networking.gke.io/load-balancer-type") === "internal" ||
    v("cloud.google.com/load-balancer-type") === "internal" ||
    v("service.beta.kubernetes.io/azure-load-balancer-internal") === "true"
  );
}

export const noPublicIngress = resourceRule<IngressCfg>({
  name: "no-public-ingress",
  description:
    "No security group, firewall, NSG or LoadBalancer Service admits traffic from 0.0.0.0/0 or ::/0, except the manager's REST and gRPC ports on the manager's own resources.",
  remediation:
    "Restrict the source to known CIDRs (or another security group / service tag). Only manager resources may expose managerPorts (default 443 REST, 8443 gRPC and 8444 join) to the internet; worker hosts accept no inbound traffic at all.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "network",
  clouds: ["aws", "gcp", "azure", "kubernetes"],
  types: [T.awsSecurityGroup, T.awsSecurityGroupRule, T.awsIngressRule, T.gcpFirewall, T.azNsg, T.azSecurityRule, T.k8sService],
  defaults: { managerPorts: [443, 8443, 8444], managerPattern: "manager" },
  configSchema: {
    properties: {
      managerPorts: { type: "array", items: { type: "integer", minimum: 1, maximum: 65535 }, default: [443, 8443, 8444] },
      managerPattern: { type: "string", default: "manager" },
    },
  },
  check(r, cfg) {
    const manager = isManagerScoped(r, cfg.managerPattern);
    return worldOpenings(r)
      .filter((o) => !(manager && (o.protocol === "tcp" || o.protocol === "6") && rangeWithin(o.range, cfg.managerPorts)))
      .map(
        (o) =>
          `${label(r)}: ${o.what} (${o.protocol}, ${fmtRange(o.range)})${manager ? `; the manager may only expose tcp ${cfg.managerPorts.join(", ")}` : ""}`,
      );
  },
});

export const defaultSecurityGroupClosed = resourceRule({
  name: "default-security-group-closed",
  description: "Every VPC's default security group is adopted and has no ingress or egress rules, so nothing can use it to talk.",
  remediation: "Declare aws.ec2.DefaultSecurityGroup for the VPC with ingress: [] and egress: [].",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "network",
  clouds: ["aws"],
  types: [T.awsDefaultSecurityGroup],
  defaults: {},
  check(r) {
    const out: string[] = [];
    const i = arr(r.props.ingress).length;
    const e = arr(r.props.egress).length;
    if (r.props.ingress === undefined || r.props.egress === undefined)
      out.push(`${label(r)}: ingress and egress must both be set to [] (an omitted list leaves the existing rules in place)`);
    if (i > 0) out.push(`${label(r)}: has ${i} ingress rule(s)`);
    if (e > 0) out.push(`${label(r)}: has ${e} egress rule(s)`);
    return out;
  },
});

export const flowLogsEnabled = resourceRule({
  name: "flow-logs-enabled",
  description:
    "Flow logs record all traffic: AWS flow logs capture ALL (not only ACCEPT or REJECT), GCP subnetworks have a logConfig, Azure flow logs are enabled.",
  remediation: 'AWS: trafficType: "ALL". GCP: set logConfig on every subnetwork. Azure: enabled: true on the network watcher flow log.',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "network",
  clouds: ["aws", "gcp", "azure"],
  types: [T.awsFlowLog, T.gcpSubnetwork, T.azFlowLog],
  defaults: {},
  check(r) {
    if (r.type === T.awsFlowLog) {
      return r.props.trafficType === "ALL" ? [] : [`${label(r)}: trafficType is ${JSON.stringify(r.props.trafficType ?? null)}, not "ALL"`];
    }
    if (r.type === T.gcpSubnetwork) {
      // proxy-only and PSC subnetworks cannot carry flow logs
      const purpose = String(r.props.purpose ?? "PRIVATE");
      if (!["PRIVATE", "PRIVATE_RFC_1918"].includes(purpose)) return [];
      return isObj(r.props.logConfig) ? [] : [`${label(r)}: no logConfig, so VPC flow logs are off`];
    }
    return isFalse(r.props.enabled) ? [`${label(r)}: flow log is disabled`] : [];
  },
});

export const subnetNoAutoPublicIp = resourceRule({
  name: "subnet-no-auto-public-ip",
  description: "No AWS subnet hands out public IPv4 addresses on launch; even the NAT subnets carry only the NAT gateways' Elastic IPs.",
  remediation: "Set mapPublicIpOnLaunch: false on the subnet.",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "network",
  clouds: ["aws"],
  types: [T.awsSubnet],
  defaults: {},
  check(r) {
    return isTrue(r.props.mapPublicIpOnLaunch) ? [`${label(r)}: mapPublicIpOnLaunch is true`] : [];
  },
});

export const gcpNetworkCustomMode = resourceRule({
  name: "gcp-network-custom-mode",
  description:
    "GCP networks are custom-mode: auto-mode networks create a subnet in every region plus the permissive default firewall rules' expected ranges.",
  remediation: "Set autoCreateSubnetworks: false and declare the subnetworks explicitly.",
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "network",
  clouds: ["gcp"],
  types: [T.gcpNetwork],
  defaults: {},
  check(r) {
    return isFalse(r.props.autoCreateSubnetworks) ? [] : [`${label(r)}: autoCreateSubnetworks is not false (auto-mode network)`];
  },
});

export const gcpPrivateGoogleAccess = resourceRule({
  name: "gcp-private-google-access",
  description:
    "GCP subnetworks enable Private Google Access so hosts without external IPs reach Cloud Storage and Artifact Registry without NAT.",
  remediation: "Set privateIpGoogleAccess: true on the subnetwork.",
  enforcementLevel: "advisory",
  severity: "low",
  domain: "network",
  clouds: ["gcp"],
  types: [T.gcpSubnetwork],
  defaults: {},
  check(r) {
    const purpose = String(r.props.purpose ?? "PRIVATE");
    if (!["PRIVATE", "PRIVATE_RFC_1918"].includes(purpose)) return [];
    return isTrue(r.props.privateIpGoogleAccess) ? [] : [`${label(r)}: privateIpGoogleAccess is not enabled`];
  },
});

export const azureNoDefaultOutbound = resourceRule({
  name: "azure-no-default-outbound",
  description: "Azure subnets turn off default outbound access, so egress goes only through the NAT gateway on the static public IP.",
  remediation: "Set defaultOutboundAccess: false on every subnet (inline VNet subnets too) and attach the NAT gateway.",
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "network",
  clouds: ["azure"],
  types: [T.azSubnet, T.azVnet],
  defaults: {},
  check(r) {
    if (r.type === T.azSubnet) return isFalse(r.props.defaultOutboundAccess) ? [] : [`${label(r)}: defaultOutboundAccess is not false`];
    return objs(r.props.subnets)
      .filter((s) => !isFalse(s.defaultOutboundAccess))
      .map((s) => `${label(r)}: inline subnet "${String(s.name ?? "?")}" does not set defaultOutboundAccess: false`);
  },
});

// ---------------------------------------------------------------- stack rules

/** Public addresses that are used only for NAT egress (inbound-unreachable). */
function natEgressAddresses(idx: RefIndex): Set<string> {
  const out = new Set<string>();
  for (const nat of idx.ofType(T.awsNatGateway)) {
    const eip = idx.resolve(nat.props.allocationId, [T.awsEip]);
    if (eip) out.add(eip.urn);
    for (const a of arr(nat.props.secondaryAllocationIds)) {
      const e = idx.resolve(a, [T.awsEip]);
      if (e) out.add(e.urn);
    }
  }
  for (const nat of idx.ofType(T.gcpRouterNat)) {
    for (const ip of arr(nat.props.natIps)) {
      const a = idx.resolve(ip, [T.gcpAddress]);
      if (a) out.add(a.urn);
    }
  }
  for (const nat of idx.ofType(T.azNatGateway)) {
    for (const ip of objs(nat.props.publicIpAddresses)) {
      const a = idx.resolve(ip.id, [T.azPublicIp]);
      if (a) out.add(a.urn);
    }
  }
  return out;
}

export const managerOnlyPublicAddress = stackRule<{ managerPattern: string }>({
  name: "manager-only-public-address",
  description:
    "The manager endpoint is the only inbound public address in the stack: every Elastic IP, external address, public IP, internet-facing load balancer and LoadBalancer Service belongs to the manager, or is a NAT gateway's egress address.",
  remediation:
    "Remove the public address, make the load balancer internal (internal: true / the cloud's internal-LB annotation), or move it under the manager component. NAT addresses must be attached to a NAT gateway.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "network",
  clouds: ["aws", "gcp", "azure", "kubernetes"],
  defaults: { managerPattern: "manager" },
  configSchema: { properties: { managerPattern: { type: "string", default: "manager" } } },
  checkStack(rs, cfg) {
    const idx = new RefIndex(rs);
    const nat = natEgressAddresses(idx);
    const out: StackViolation[] = [];
    const allowed = (r: StackResourceView) => isManagerScoped(r, cfg.managerPattern) || nat.has(r.urn);
    for (const r of rs) {
      let publicWhat: string | undefined;
      switch (r.type) {
        case T.awsEip:
          publicWhat = "Elastic IP";
          break;
        case T.awsLoadBalancer:
        case T.awsAlbLoadBalancer:
          if (!isTrue(r.props.internal)) publicWhat = "internet-facing load balancer";
          break;
        case T.gcpAddress:
          if (String(r.props.addressType ?? "EXTERNAL").toUpperCase() === "EXTERNAL") publicWhat = "external address";
          break;
        case T.gcpGlobalAddress:
          if (String(r.props.addressType ?? "EXTERNAL").toUpperCase() === "EXTERNAL") publicWhat = "global external address";
          break;
        case T.gcpForwardingRule:
        case T.gcpGlobalForwardingRule:
          if (
            String(r.props.loadBalancingScheme ?? "EXTERNAL")
              .toUpperCase()
              .startsWith("EXTERNAL")
          )
            publicWhat = "external forwarding rule";
          break;
        case T.azPublicIp:
          publicWhat = "public IP address";
          break;
        case T.k8sService:
          if (get(r.props, "spec.type") === "LoadBalancer" && !isInternalLbService(r.props))
            publicWhat = "internet-facing LoadBalancer Service";
          break;
      }
      if (publicWhat && !allowed(r))
        out.push({ urn: r.urn, message: `${label(r)}: ${publicWhat} that is neither the manager endpoint nor a NAT egress address` });
    }
    return out;
  },
});

function awsSubnetIsPrivate(idx: RefIndex, subnet: StackResourceView): string | undefined {
  if (isTrue(subnet.props.mapPublicIpOnLaunch)) return "maps public IPs on launch";
  const assoc = idx.ofType(T.awsRouteTableAssociation).find((a) => idx.resolve(a.props.subnetId, [T.awsSubnet])?.urn === subnet.urn);
  if (!assoc) return "has no route table association (it would use the VPC's main route table)";
  const rt = idx.resolve(assoc.props.routeTableId, [T.awsRouteTable]);
  if (!rt) return "is associated with a route table that is not declared in this stack";
  const routes: Obj[] = [
    ...objs(rt.props.routes).map((x) => ({ ...x, destinationCidrBlock: x.cidrBlock, destinationIpv6CidrBlock: x.ipv6CidrBlock })),
    ...idx
      .ofType(T.awsRoute)
      .filter((x) => idx.resolve(x.props.routeTableId, [T.awsRouteTable])?.urn === rt.urn)
      .map((x) => x.props),
  ];
  for (const route of routes) {
    const gw = route.gatewayId;
    if (gw !== undefined && (idx.resolve(gw, [T.awsInternetGateway]) || (typeof gw === "string" && gw.startsWith("igw-"))))
      return `routes ${String(route.destinationCidrBlock ?? route.destinationIpv6CidrBlock ?? "?")} to an internet gateway`;
  }
  const viaNat = routes.some(
    (route) =>
      (route.destinationCidrBlock === "0.0.0.0/0" || route.destinationCidrBlock === undefined) &&
      (route.natGatewayId !== undefined || route.transitGatewayId !== undefined),
  );
  if (!viaNat) return "has no default route through a NAT gateway (or transit gateway)";
  return undefined;
}

export const workersInPrivateSubnets = stackRule({
  name: "workers-in-private-subnets",
  description:
    "Every worker pool (Auto Scaling group, instance, instance template, scale set) is placed in a subnet of this stack that is private (no public IPs, no route to an internet gateway) and leaves through NAT.",
  remediation:
    "Place the pool in the OutboundOnlyNetwork's worker subnets: AWS vpcZoneIdentifiers = private subnets whose default route is a NAT gateway; GCP networkInterfaces[].subnetwork on a network with Cloud NAT; Azure ipConfigurations[].subnet = a subnet with a NAT gateway.",
  enforcementLevel: "mandatory",
  severity: "critical",
  domain: "network",
  clouds: ["aws", "gcp", "azure"],
  defaults: {},
  checkStack(rs) {
    const idx = new RefIndex(rs);
    const out: StackViolation[] = [];
    const checkAwsSubnets = (r: StackResourceView, refs: unknown[]) => {
      if (refs.length === 0) out.push({ urn: r.urn, message: `${label(r)}: no subnets given, so it launches into the default VPC` });
      for (const ref of refs) {
        const sn = idx.resolve(ref, [T.awsSubnet]);
        if (!sn) {
          out.push({
            urn: r.urn,
            message: `${label(r)}: subnet ${JSON.stringify(ref ?? null)} is not declared in this stack; cannot show it is private`,
          });
          continue;
        }
        const why = awsSubnetIsPrivate(idx, sn);
        if (why) out.push({ urn: r.urn, message: `${label(r)}: subnet "${sn.name}" ${why}` });
      }
    };
    for (const asg of idx.ofType(T.awsAsg)) checkAwsSubnets(asg, arr(asg.props.vpcZoneIdentifiers));
    for (const inst of idx.ofType(T.awsInstance)) checkAwsSubnets(inst, arr(inst.props.subnetId));

    for (const tpl of idx.ofType(...GCP_TEMPLATES)) {
      const nis = objs(tpl.props.networkInterfaces);
      if (nis.length === 0) out.push({ urn: tpl.urn, message: `${label(tpl)}: no network interface` });
      for (const ni of nis) {
        const sn = idx.resolve(ni.subnetwork, [T.gcpSubnetwork]);
        if (!sn) {
          out.push({
            urn: tpl.urn,
            message: `${label(tpl)}: subnetwork ${JSON.stringify(ni.subnetwork ?? null)} is not declared in this stack; cannot show it is behind Cloud NAT`,
          });
          continue;
        }
        const nats = idx.ofType(T.gcpRouterNat).filter((nat) => {
          const router = idx.resolve(nat.props.router, [T.gcpRouter]);
          if (router) return router.props.network === sn.props.network;
          return nat.props.region === undefined || sn.props.region === undefined || nat.props.region === sn.props.region;
        });
        const covers = nats.some((nat) => {
          const mode = String(nat.props.sourceSubnetworkIpRangesToNat ?? "");
          if (mode.startsWith("ALL_SUBNETWORKS")) return true;
          return objs(nat.props.subnetworks).some((s) => idx.resolve(s.name, [T.gcpSubnetwork])?.urn === sn.urn);
        });
        if (!covers) out.push({ urn: tpl.urn, message: `${label(tpl)}: subnetwork "${sn.name}" is not covered by a Cloud NAT` });
      }
    }

    for (const ss of idx.ofType(T.azVmss, T.azVm)) {
      const ips = azureIpConfigs(ss);
      if (ips.length === 0) out.push({ urn: ss.urn, message: `${label(ss)}: no ipConfiguration with a subnet` });
      for (const ip of ips) {
        const ref = get(ip, "subnet.id") ?? get(ip, "properties.subnet.id");
        const sn = idx.resolve(ref, [T.azSubnet]);
        if (!sn) {
          out.push({
            urn: ss.urn,
            message: `${label(ss)}: subnet ${JSON.stringify(ref ?? null)} is not declared in this stack; cannot show it is behind a NAT gateway`,
          });
          continue;
        }
        if (get(sn.props, "natGateway.id") === undefined)
          out.push({ urn: ss.urn, message: `${label(ss)}: subnet "${sn.name}" has no NAT gateway` });
        else if (!isFalse(sn.props.defaultOutboundAccess))
          out.push({ urn: ss.urn, message: `${label(ss)}: subnet "${sn.name}" still has default outbound access` });
      }
    }
    return out;
  },
});

export const vpcFlowLogsPresent = stackRule({
  name: "vpc-flow-logs-present",
  description: "Every AWS VPC in the stack has a flow log attached to it.",
  remediation: 'Declare aws.ec2.FlowLog with vpcId set to the VPC and trafficType "ALL".',
  enforcementLevel: "mandatory",
  severity: "medium",
  domain: "network",
  clouds: ["aws"],
  defaults: {},
  checkStack(rs) {
    const idx = new RefIndex(rs);
    const logs = idx.ofType(T.awsFlowLog);
    return idx
      .ofType(T.awsVpc)
      .filter((vpc) => !logs.some((l) => idx.resolve(l.props.vpcId, [T.awsVpc])?.urn === vpc.urn))
      .map((vpc) => ({ urn: vpc.urn, message: `${label(vpc)}: no flow log references this VPC` }));
  },
});

export const vpcDefaultSecurityGroupAdopted = stackRule({
  name: "vpc-default-security-group-adopted",
  description:
    "Every AWS VPC in the stack adopts its default security group (aws.ec2.DefaultSecurityGroup), so its allow-all-within-group rules are removed rather than left in place.",
  remediation: "Declare aws.ec2.DefaultSecurityGroup with vpcId = the VPC's id, ingress: [] and egress: [].",
  enforcementLevel: "mandatory",
  severity: "high",
  domain: "network",
  clouds: ["aws"],
  defaults: {},
  checkStack(rs) {
    const idx = new RefIndex(rs);
    const adopted = idx.ofType(T.awsDefaultSecurityGroup);
    return idx
      .ofType(T.awsVpc)
      .filter((vpc) => !adopted.some((d) => idx.resolve(d.props.vpcId, [T.awsVpc])?.urn === vpc.urn))
      .map((vpc) => ({
        urn: vpc.urn,
        message: `${label(vpc)}: its default security group is not adopted, so it keeps AWS's allow-all rules`,
      }));
  },
});

export const azureVnetFlowLogs = stackRule({
  name: "azure-vnet-flow-logs",
  description: "Every Azure virtual network has a VNet flow log (Network Watcher) targeting it; NSG flow logs are being retired by Azure.",
  remediation: "Declare azure-native network.FlowLog with targetResourceId = the VNet's id, enabled: true and a retention policy.",
  enforcementLevel: "advisory",
  severity: "medium",
  domain: "network",
  clouds: ["azure"],
  defaults: {},
  checkStack(rs) {
    const idx = new RefIndex(rs);
    const logs = idx.ofType(T.azFlowLog);
    return idx
      .ofType(T.azVnet)
      .filter((v) => !logs.some((l) => idx.resolve(l.props.targetResourceId, [T.azVnet])?.urn === v.urn))
      .map((v) => ({ urn: v.urn, message: `${label(v)}: no VNet flow log targets this virtual network` }));
  },
});

export const networkRules = [
  workerNoPublicIp,
  noPublicIngress,
  defaultSecurityGroupClosed,
  flowLogsEnabled,
  subnetNoAutoPublicIp,
  gcpNetworkCustomMode,
  gcpPrivateGoogleAccess,
  azureNoDefaultOutbound,
  managerOnlyPublicAddress,
  workersInPrivateSubnets,
  vpcFlowLogsPresent,
  vpcDefaultSecurityGroupAdopted,
  azureVnetFlowLogs,
];
