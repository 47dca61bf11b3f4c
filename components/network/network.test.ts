// OutboundOnlyNetwork on every cloud, run under Pulumi mocks (pulumi.runtime.setMocks):
// no cloud API is called; every registration is recorded and its inputs asserted.
import { describe, expect, it } from "vitest";
import { installRecorder } from "../../stacks/synth/recorder.js";
import { OutboundOnlyNetwork, planAddressSpace, parseCidr, subnet, formatCidr } from "./index.js";
import { ConfigError } from "../common.js";

describe("address plan", () => {
  it("splits a /16 into worker, manager, pod, service, database and NAT blocks without overlap", () => {
    const p = planAddressSpace("10.40.0.0/16", 3);
    expect(p.private).toEqual(["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"]);
    expect(p.manager).toBe("10.40.128.0/19");
    expect(p.pods).toBe("10.40.160.0/19");
    expect(p.services).toBe("10.40.192.0/20");
    expect(p.database).toBe("10.40.208.0/20");
    expect(p.public).toEqual(["10.40.224.0/26", "10.40.224.64/26", "10.40.224.128/26"]);
  });
  it("works down to a /20", () => {
    const p = planAddressSpace("172.16.16.0/20", 2);
    expect(p.private).toEqual(["172.16.16.0/23", "172.16.18.0/23"]);
    expect(p.public).toEqual(["172.16.30.0/26", "172.16.30.64/26"]);
  });
  it("rejects public, misaligned, too small or too large blocks, naming the key", () => {
    expect(() => planAddressSpace("8.8.0.0/16", 3)).toThrow(/framefleet:network.cidr.*RFC 1918/);
    expect(() => planAddressSpace("10.40.0.1/16", 3)).toThrow(/host bits/);
    expect(() => planAddressSpace("10.40.0.0/24", 3)).toThrow(ConfigError);
    expect(() => planAddressSpace("10.0.0.0/8", 3)).toThrow(/between \/16 and \/20/);
    expect(() => planAddressSpace("10.40.0.0/16", 5)).toThrow(/framefleet:network.zones/);
    expect(() => parseCidr("nonsense", "k")).toThrow(/"k"/);
  });
  it("carves sub-blocks", () => {
    expect(formatCidr(subnet(parseCidr("10.0.0.0/16"), 24, 255))).toBe("10.0.255.0/24");
    expect(() => subnet(parseCidr("10.0.0.0/16"), 24, 256)).toThrow();
  });
});

describe("OutboundOnlyNetwork on AWS", () => {
  it("has private subnets routed only to NAT, a locked default SG, a worker SG with no ingress, endpoints and flow logs", async () => {
    const rec = await installRecorder();
    new OutboundOnlyNetwork("net", { cloud: "aws", region: "eu-west-1", cidr: "10.40.0.0/16" });
    await rec.settle();

    expect(rec.ofType("framefleet:network:OutboundOnlyNetwork")).toHaveLength(1);
    const subnets = rec.ofType("aws:ec2/subnet:Subnet");
    expect(subnets).toHaveLength(6);
    for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
    const priv = subnets.filter((s) => s.name.includes("private"));
    expect(priv.map((s) => s.inputs.availabilityZone)).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);

    // No route from a private route table reaches the internet gateway.
    const routes = rec.ofType("aws:ec2/route:Route");
    const privateRoutes = routes.filter((r) => r.name.includes("private"));
    expect(privateRoutes).toHaveLength(3);
    for (const r of privateRoutes) {
      expect(r.inputs.gatewayId).toBeUndefined();
      expect(r.inputs.natGatewayId).toMatch(/nat-\d-id/);
    }
    const publicRoute = routes.find((r) => r.name.includes("public"))!;
    expect(publicRoute.inputs.gatewayId).toBe("net-igw-id");
    // each private subnet is associated with a private route table only
    const assocs = rec.ofType("aws:ec2/routeTableAssociation:RouteTableAssociation");
    for (const a of assocs.filter((a) => a.name.includes("private"))) expect(a.inputs.routeTableId).toMatch(/private-rt/);

    expect(rec.ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(3);
    expect(rec.ofType("aws:ec2/eip:Eip").every((e) => e.inputs.domain === "vpc")).toBe(true);

    const dsg = rec.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
    expect(dsg.inputs.ingress).toEqual([]);
    expect(dsg.inputs.egress).toEqual([]);

    const workers = rec.one("aws:ec2/securityGroup:SecurityGroup", "-workers");
    expect(workers.inputs.ingress).toEqual([]);
    expect((workers.inputs.egress as { fromPort: number }[]).map((e) => e.fromPort)).toEqual([443, 8443, 8444]);

    const eps = rec.ofType("aws:ec2/vpcEndpoint:VpcEndpoint");
    expect(eps.find((e) => e.name.endsWith("-s3"))!.inputs).toMatchObject({
      vpcEndpointType: "Gateway",
      serviceName: "com.amazonaws.eu-west-1.s3",
    });
    expect(eps.filter((e) => e.inputs.vpcEndpointType === "Interface").map((e) => e.inputs.serviceName)).toEqual([
      "com.amazonaws.eu-west-1.ecr.api",
      "com.amazonaws.eu-west-1.ecr.dkr",
    ]);
    expect(rec.one("aws:ec2/flowLog:FlowLog").inputs).toMatchObject({ trafficType: "ALL", logDestinationType: "cloud-watch-logs" });
  });

  it("can share one NAT gateway", async () => {
    const rec = await installRecorder();
    new OutboundOnlyNetwork("net", {
      cloud: "aws",
      region: "us-east-1",
      cidr: "10.1.0.0/16",
      zones: ["us-east-1a", "us-east-1b"],
      natPerZone: false,
    });
    await rec.settle();
    expect(rec.ofType("aws:ec2/natGateway:NatGateway")).toHaveLength(1);
    const privateRoutes = rec.ofType("aws:ec2/route:Route").filter((r) => r.name.includes("private"));
    expect(new Set(privateRoutes.map((r) => r.inputs.natGatewayId))).toEqual(new Set(["net-nat-0-id"]));
  });
});

describe("OutboundOnlyNetwork on GCP", () => {
  it("is custom-mode with private Google access, flow logs, Cloud NAT and deny-all ingress", async () => {
    const rec = await installRecorder();
    new OutboundOnlyNetwork("net", { cloud: "gcp", region: "europe-west4", cidr: "10.50.0.0/16", gcpProject: "acme-media" });
    await rec.settle();
    expect(rec.one("gcp:compute/network:Network").inputs).toMatchObject({ autoCreateSubnetworks: false, project: "acme-media" });
    const subs = rec.ofType("gcp:compute/subnetwork:Subnetwork");
    expect(subs).toHaveLength(2);
    for (const s of subs) {
      expect(s.inputs.privateIpGoogleAccess).toBe(true);
      expect(s.inputs.logConfig).toMatchObject({ metadata: "INCLUDE_ALL_METADATA" });
      expect(s.inputs.region).toBe("europe-west4");
    }
    expect(rec.one("gcp:compute/router:Router")).toBeDefined();
    expect(rec.one("gcp:compute/routerNat:RouterNat").inputs).toMatchObject({
      natIpAllocateOption: "MANUAL_ONLY",
      logConfig: { enable: true },
    });
    const all = rec.ofType("gcp:compute/firewall:Firewall");
    const fws = all.filter((f) => f.inputs.direction === "INGRESS");
    expect(fws).toHaveLength(2);
    // no rule anywhere allows ingress
    expect(all.filter((f) => f.inputs.direction === "INGRESS" && f.inputs.allows)).toEqual([]);
    const egress = all.filter((f) => f.inputs.direction === "EGRESS");
    expect(egress.find((f) => f.name.endsWith("allow-egress-workers"))!.inputs.allows).toEqual([
      { protocol: "tcp", ports: ["443", "8443", "8444"] },
    ]);
    expect(egress.find((f) => f.name.endsWith("deny-egress-workers"))!.inputs).toMatchObject({
      denies: [{ protocol: "all" }],
      priority: 65000,
    });
    for (const f of fws) {
      expect(f.inputs).toMatchObject({ direction: "INGRESS", denies: [{ protocol: "all" }], sourceRanges: ["0.0.0.0/0"] });
      expect(f.inputs.allows).toBeUndefined();
    }
    expect(fws.find((f) => f.name.endsWith("workers"))!.inputs.targetTags).toEqual(["framefleet-worker"]);
  });
});

describe("OutboundOnlyNetwork on Azure", () => {
  it("has a NAT gateway on a static Standard IP, deny-all NSG and no default outbound access", async () => {
    const rec = await installRecorder();
    new OutboundOnlyNetwork("net", { cloud: "azure", region: "westeurope", cidr: "10.60.0.0/16", azureResourceGroupName: "rg-ff" });
    await rec.settle();
    expect(rec.one("azure-native:network:PublicIPAddress").inputs).toMatchObject({
      sku: { name: "Standard" },
      publicIPAllocationMethod: "Static",
    });
    expect(rec.one("azure-native:network:NatGateway").inputs).toMatchObject({ sku: { name: "Standard" } });
    const nsg = rec.one("azure-native:network:NetworkSecurityGroup");
    const rules = nsg.inputs.securityRules as Array<Record<string, unknown>>;
    expect(rules.filter((r) => r.direction === "Inbound")).toEqual([
      expect.objectContaining({ access: "Deny", sourceAddressPrefix: "*", destinationPortRange: "*" }),
    ]);
    expect(rules.filter((r) => r.direction === "Outbound").map((r) => [r.access, r.priority])).toEqual([
      ["Allow", 100],
      ["Deny", 4000],
    ]);
    const subs = rec.ofType("azure-native:network:Subnet");
    expect(subs).toHaveLength(3);
    for (const s of subs) expect(s.inputs.defaultOutboundAccess).toBe(false);
    const workers = subs.find((s) => s.name.endsWith("workers"))!;
    expect(workers.inputs.natGateway).toEqual({ id: expect.stringContaining("NatGateway") });
    expect(workers.inputs.networkSecurityGroup).toEqual({ id: expect.stringContaining("NetworkSecurityGroup") });
  });

  it("needs a resource group", () => {
    expect(() => new OutboundOnlyNetwork("x", { cloud: "azure", region: "westeurope", cidr: "10.60.0.0/16" })).toThrow(
      /framefleet:azure.resourceGroupName/,
    );
  });
});
