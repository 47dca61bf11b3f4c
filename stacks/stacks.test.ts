// Every example stack, run under Pulumi mocks (pulumi.runtime.setMocks) through
// synthStack — the same path as `npm run synth` and the policy pack's offline
// checker. No cloud API is called; dynamic providers (the CA) do not run, so
// certificates are placeholders here (components/pki/pki.test.ts runs them).
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { synthStack, inventoryTable, loadStackFiles, type RecordedResource } from "./synth/index.js";
import { parseRegionConfig } from "./config.js";
import { parseManagerSettings } from "../runtime/cli/manager-command.js";

const EXAMPLES = "examples/stacks";
const count = (rs: RecordedResource[], type: string) => rs.filter((r) => r.type === type).length;
const only = (rs: RecordedResource[], type: string) => rs.filter((r) => r.type === type);

async function failure(dir: string, config: Record<string, unknown>): Promise<{ message: string; records: RecordedResource[] }> {
  try {
    await synthStack(dir, { config });
  } catch (e) {
    return { message: (e as Error).message, records: (e as { records: RecordedResource[] }).records };
  }
  throw new Error("expected the stack to fail");
}

describe("invalid stack configuration fails before any resource is declared, naming the key", () => {
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ["unknown cloud", "aws-region", { "framefleet:cloud": "oracle" }, /"framefleet:cloud".*unknown cloud "oracle"/],
    ["missing region", "gcp-region", { "framefleet:region": "" }, /"framefleet:region".*required/],
    [
      "on-demand percentage outside 0-100",
      "aws-region",
      {
        "framefleet:pools": [
          { name: "x", kind: "encode", instanceTypes: [{ type: "c7i.large" }], maxSize: 4, onDemandPercentageAboveBase: 120 },
        ],
      },
      /"framefleet:pools\[0\]\.onDemandPercentageAboveBase".*outside 0-100/,
    ],
    [
      "GPU pool without a GPU type",
      "azure-region",
      { "framefleet:pools": [{ name: "g", kind: "encode", gpu: {}, instanceTypes: [{ type: "Standard_NC8as_T4_v3" }], maxSize: 2 }] },
      /"framefleet:pools\[0\]\.gpu\.type"/,
    ],
    [
      "remote region without an endpoint",
      "gcp-customer-account",
      { "framefleet:manager": { mode: "remote" } },
      /"framefleet:manager\.endpoint"/,
    ],
    [
      "customer account with a local manager",
      "aws-customer-account",
      { "framefleet:manager": { mode: "local" } },
      /"framefleet:manager\.mode"/,
    ],
    ["misspelt key", "aws-region", { "framefleet:pool": [] }, /"framefleet:pool".*not a setting/],
    ["public network range", "azure-region", { "framefleet:network": { cidr: "52.0.0.0/16" } }, /"framefleet:network\.cidr".*RFC 1918/],
  ];
  for (const [what, dir, config, message] of cases) {
    it(what, async () => {
      const f = await failure(`${EXAMPLES}/${dir}`, config);
      expect(f.message).toMatch(message);
      expect(f.records).toEqual([]);
    });
  }
  it("a remote region needs the join token too", () => {
    const raw = {
      installation: "x1",
      cloud: "aws",
      region: "us-east-1",
      network: { cidr: "10.0.0.0/16" },
      manager: { mode: "remote", endpoint: "m.example:8443", caBundlePem: "-----BEGIN CERTIFICATE-----" },
      images: { coordinator: "a", engineCpu: "b", engineGpu: "c" },
      registry: { upstream: "quay.io", namespaces: ["f"] },
      buckets: { create: true },
    };
    expect(() => parseRegionConfig(raw, "customer-account")).toThrow(/"framefleet:joinToken"/);
    expect(parseRegionConfig({ ...raw, joinToken: "t" }, "customer-account").spec.manager).toMatchObject({
      mode: "remote",
      endpoint: "m.example:8443",
    });
  });
});

describe("example stacks synthesize", () => {
  it("every example directory has a stack config", () => {
    const dirs = readdirSync(EXAMPLES, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(dirs.sort()).toEqual([
      "aws-customer-account",
      "aws-region",
      "azure-customer-account",
      "azure-region",
      "control-plane",
      "gcp-customer-account",
      "gcp-region",
      "insecure",
    ]);
    for (const d of dirs) expect(loadStackFiles(`${EXAMPLES}/${d}`).config).toBeTruthy();
  });

  it("aws-region: EKS + RDS + EIPs, 3 NATs, 4 pools, buckets, mirror", async () => {
    const rs = await synthStack(`${EXAMPLES}/aws-region`);
    expect(count(rs, "pulumi:providers:aws")).toBe(1);
    expect(only(rs, "pulumi:providers:aws")[0]!.inputs.region).toBe("eu-west-1");
    expect(count(rs, "aws:eks/cluster:Cluster")).toBe(1);
    expect(count(rs, "aws:rds/instance:Instance")).toBe(1);
    expect(count(rs, "aws:ec2/natGateway:NatGateway")).toBe(3);
    expect(count(rs, "aws:autoscaling/group:Group")).toBe(4);
    expect(count(rs, "aws:ec2/launchTemplate:LaunchTemplate")).toBe(4);
    expect(count(rs, "aws:s3/bucket:Bucket")).toBe(4); // input, intermediate, output + access logs
    expect(count(rs, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule")).toBe(1);
    expect(count(rs, "pulumi:pulumi:StackReference")).toBe(1);
    for (const lt of only(rs, "aws:ec2/launchTemplate:LaunchTemplate"))
      expect(lt.inputs.metadataOptions).toMatchObject({ httpTokens: "required" });
    const cpu = only(rs, "aws:autoscaling/group:Group").find((g) => g.name.endsWith("encode-cpu-asg"))!;
    expect(cpu.inputs.mixedInstancesPolicy).toMatchObject({
      instancesDistribution: { onDemandBaseCapacity: 2, onDemandPercentageAboveBaseCapacity: 20 },
    });
    const svc = only(rs, "kubernetes:core/v1:Service").find((s) => s.name.endsWith("manager-public"))!;
    const eipAllocs = (svc.inputs.metadata as { annotations: Record<string, string> }).annotations[
      "service.beta.kubernetes.io/aws-load-balancer-eip-allocations"
    ];
    expect(eipAllocs!.split(",")).toHaveLength(3);
    const rds = only(rs, "aws:rds/instance:Instance")[0]!;
    expect(rds.secretPaths).toContain("password");
    expect(inventoryTable(rs)).toContain("aws:autoscaling/group:Group");
    expect(rs.length).toBeGreaterThan(100);
  });

  it("gcp-region: GKE + Cloud SQL + address, two MIGs per pool", async () => {
    const rs = await synthStack(`${EXAMPLES}/gcp-region`);
    expect(count(rs, "gcp:container/cluster:Cluster")).toBe(1);
    expect(count(rs, "gcp:sql/databaseInstance:DatabaseInstance")).toBe(1);
    expect(count(rs, "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager")).toBe(8);
    expect(count(rs, "gcp:compute/instanceTemplate:InstanceTemplate")).toBe(8);
    expect(
      only(rs, "gcp:compute/instanceTemplate:InstanceTemplate").filter(
        (t) => (t.inputs.scheduling as { provisioningModel: string }).provisioningModel === "SPOT",
      ),
    ).toHaveLength(4);
    const svc = only(rs, "kubernetes:core/v1:Service").find((s) => s.name.endsWith("manager-public"))!;
    expect((svc.inputs.spec as { loadBalancerIP: string }).loadBalancerIP).toMatch(/^203\.0\.113\./);
    expect(count(rs, "gcp:storage/bucket:Bucket")).toBe(4);
  });

  it("azure-region: AKS + PostgreSQL + static IP, a VMSS per pool", async () => {
    const rs = await synthStack(`${EXAMPLES}/azure-region`);
    expect(count(rs, "azure-native:containerservice:ManagedCluster")).toBe(1);
    expect(count(rs, "azure-native:dbforpostgresql:Server")).toBe(1);
    expect(count(rs, "azure-native:compute:VirtualMachineScaleSet")).toBe(3);
    expect(count(rs, "azure-native:resources:ResourceGroup")).toBe(1);
    const svc = only(rs, "kubernetes:core/v1:Service").find((s) => s.name.endsWith("manager-public"))!;
    const ann = (svc.inputs.metadata as { annotations: Record<string, string> }).annotations;
    expect(ann["service.beta.kubernetes.io/azure-pip-name"]).toBeTruthy();
    expect(ann["service.beta.kubernetes.io/azure-load-balancer-resource-group"]).toBe("rg-framefleet-acme-westeurope");
  });

  it("every region example writes a manager.json the manager command accepts, with an autoscaler where the cloud has one", async () => {
    for (const cloud of ["aws", "gcp", "azure"]) {
      const rs = await synthStack(`${EXAMPLES}/${cloud}-region`);
      const cm = only(rs, "kubernetes:core/v1:ConfigMap").find(
        (c) => (c.inputs.data as Record<string, string> | undefined)?.["manager.json"],
      );
      expect(cm, `${cloud}-region has the manager's ConfigMap`).toBeDefined();
      const json = JSON.parse((cm!.inputs.data as Record<string, string>)["manager.json"]!);
      // what the manager would refuse at start (a crash loop in the cluster) fails here instead
      const settings = parseManagerSettings(json, `${cloud}-region manager.json`);
      expect(settings.region).toBeTruthy();
      expect(json.fleet).toMatchObject({ provider: cloud });
      if (cloud === "gcp") expect(json.fleet).toMatchObject({ project: expect.any(String), region: settings.region });
      // every pool's groups reach the autoscaler, each with a shape and a price
      expect(settings.autoscaler!.groups.length).toBeGreaterThan(0);
      for (const g of settings.autoscaler!.groups) expect(g.pricePerHour, `${cloud} ${g.name}`).toBeGreaterThan(0);
    }
  });

  it("customer accounts: network and pools only, dialing the remote manager", async () => {
    for (const cloud of ["aws", "gcp", "azure"]) {
      const rs = await synthStack(`${EXAMPLES}/${cloud}-customer-account`);
      expect(
        rs.filter((r) =>
          /eks\/cluster|container\/cluster|ManagedCluster|rds\/instance|sql\/databaseInstance|dbforpostgresql|^kubernetes:/.test(r.type),
        ),
      ).toEqual([]);
      expect(count(rs, "framefleet:workers:WorkerPool")).toBe(2);
      expect(count(rs, "framefleet:buckets:MediaBuckets")).toBe(0);
      const ud = JSON.stringify(
        rs.filter((r) => /LaunchTemplate|InstanceTemplate|VirtualMachineScaleSet/.test(r.type)).map((r) => r.inputs),
      );
      const decoded = ud.replace(/"([A-Za-z0-9+/=]{200,})"/g, (_, b64: string) => Buffer.from(b64, "base64").toString());
      expect(decoded).toContain("manager.eu-west-1.framefleet.acme.example:8443");
      expect(decoded).not.toContain("mock-secret-for-framefleet:joinToken"); // the token is fetched at boot, never in user data
    }
  });

  it("control-plane: the root CA, its key a secret output", async () => {
    const rs = await synthStack(`${EXAMPLES}/control-plane`);
    expect(rs.map((r) => r.type)).toEqual(["framefleet:pki:CertificateAuthority", "pulumi-nodejs:dynamic/framefleet-pki:Certificate"]);
    expect(rs[1]!.inputs).toMatchObject({ kind: "root", commonName: "acme framefleet root", validityDays: 3650 });
  });

  it("insecure: still synthesizes, with the violations the policy pack must catch", async () => {
    const rs = await synthStack(`${EXAMPLES}/insecure`);
    const lt = only(rs, "aws:ec2/launchTemplate:LaunchTemplate")[0]!;
    expect(lt.inputs.metadataOptions).toMatchObject({ httpTokens: "optional" });
    expect(only(rs, "aws:ec2/securityGroup:SecurityGroup")[0]!.inputs.ingress).toEqual([
      expect.objectContaining({ cidrBlocks: ["0.0.0.0/0"] }),
    ]);
    expect(JSON.stringify(only(rs, "kubernetes:core/v1:Pod")[0]!.inputs)).toContain('"privileged":true');
  });

  it("runs a stack in a child process when asked (fresh module graph)", async () => {
    const rs = await synthStack(`${EXAMPLES}/control-plane`, { isolate: true });
    expect(rs).toHaveLength(2);
  });
});
